import type { Envelope } from '../envelope.js';
import type { HandlerContext } from '../handlers.js';

/**
 * What a publish filter sees and may change before the event is enveloped:
 * add application headers, set the tenant or the correlation id.
 */
export interface PublishFilterContext {
  /** The event being published (do not mutate it). */
  readonly event: object;
  /** Its stable name. */
  readonly eventName: string;
  /** Application headers of the message; names starting with `herald-` are reserved. */
  readonly headers: Record<string, string>;
  /** The tenant to stamp: the publish option's, else the ambient one; set it to change it, `undefined` for none. */
  tenantId: string | undefined;
  /** The correlation id to stamp: the publish option's, else the ambient one; set it to change it. */
  correlationId: string | undefined;
}

/**
 * Runs when an event is published (at the `publish` call, in the caller's
 * async context), in registration order. A throw rejects the publish and
 * stores nothing. (CAP's `OnPublishExecuting`, NetCorePal's publish filters.)
 */
export type PublishFilter = (publishing: PublishFilterContext) => void | Promise<void>;

/** What a consume filter sees around one handler call. */
export interface ConsumeFilterContext {
  /** The received message's envelope: id, name, version, tenant, correlation, headers, payload. */
  readonly envelope: Envelope;
  /** The decoded event. */
  readonly event: unknown;
  /** The handler's context (`tx`, `attempt`, `signal`, `publish`). */
  readonly handler: HandlerContext;
}

/**
 * Wraps each handler call, like middleware: call `next()` to run the rest of
 * the chain and the handler. The first registered filter is the outermost. A
 * throw (or a rejected `next()` that is re-thrown) follows the handler's
 * retry path: local retries, persistent retries, then the dead letter.
 * (MassTransit's consume middleware, CAP's `OnSubscribeExecuting/Executed`.)
 */
export type ConsumeFilter = (consuming: ConsumeFilterContext, next: () => Promise<void>) => Promise<void>;

/** Runs the publish filters in order over `publishing`. */
export async function runPublishFilters(
  filters: readonly PublishFilter[],
  publishing: PublishFilterContext,
): Promise<void> {
  for (const filter of filters) await filter(publishing);
}

/** Runs `handler` inside the consume filters, the first one outermost. */
export function runConsumeFilters(
  filters: readonly ConsumeFilter[],
  consuming: ConsumeFilterContext,
  handler: () => Promise<void>,
): Promise<void> {
  const at = async (index: number): Promise<void> => {
    const filter = filters[index];
    if (!filter) return handler();
    let called = false;
    await filter(consuming, () => {
      if (called) return Promise.reject(new Error('A consume filter called next() twice'));
      called = true;
      return at(index + 1);
    });
  };
  return at(0);
}
