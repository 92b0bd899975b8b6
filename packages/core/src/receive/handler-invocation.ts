import { ambientContext } from '../context/ambient-context.js';
import { type ConsumeFilter, runConsumeFilters } from '../context/filters.js';
import type { Envelope } from '../envelope.js';
import { HandlerTimeoutError } from '../errors.js';
import type { HandlerContext, HandlerRegistration } from '../handlers.js';
import type { HeraldOptions } from '../options.js';
import type { InboxStore } from '../ports/inbox-store.js';
import type { PublishOptions } from '../publish-options.js';
import { withTimeout } from '../runtime/timers.js';
import { inProcessSpan } from '../telemetry.js';

/** Wraps an error thrown by user handler code (as opposed to the store or transport). */
export class HandlerFailure extends Error {
  constructor(readonly original: unknown) {
    super('handler failed');
  }
}

/** What running a handler needs from the bus. */
export interface InvocationDeps {
  readonly options: Readonly<HeraldOptions>;
  readonly publish: (event: object, options: PublishOptions) => Promise<void>;
  /** Whether `tx` of this inbox may be used to write the outbox of follow-up events. */
  readonly sharesOutboxWith: (inbox: InboxStore) => boolean;
  /** Aborted when the bus stops: running handlers' signals abort with it. */
  readonly stopSignal: AbortSignal;
  /** Consume filters around every handler call, the first outermost. */
  readonly consumeFilters?: readonly ConsumeFilter[];
}

/** One handler run: the event, its envelope, the transaction and the attempt number. */
export interface Invocation {
  readonly handler: HandlerRegistration;
  readonly envelope: Envelope;
  readonly event: unknown;
  readonly tx: unknown;
  readonly attempt: number;
  /** The inbox whose transaction `tx` is; undefined inline (unit of work). */
  readonly inbox: InboxStore | undefined;
}

/**
 * Runs user handler code with its context, a timeout and an abort signal.
 * Errors come back as {@link HandlerFailure}; the result says whether the
 * handler published follow-up events.
 */
export async function invokeHandler(deps: InvocationDeps, run: Invocation): Promise<boolean> {
  const { handler, envelope, tx, inbox } = run;
  const { options } = deps;
  const controller = new AbortController();
  const onStop = () => controller.abort(new Error('The bus is stopping'));
  deps.stopSignal.addEventListener('abort', onStop, { once: true });
  let published = false;
  // Inline (unit-of-work) handlers publish follow-ups into the ambient unit of work, not with its tx.
  const shareTx = inbox !== undefined && deps.sharesOutboxWith(inbox);
  const context: HandlerContext = {
    envelope,
    tx,
    attempt: run.attempt,
    signal: controller.signal,
    handlerName: handler.name,
    publish: async (followUp, publishOptions = {}) => {
      published = true;
      await deps.publish(followUp, {
        causationId: envelope.id,
        correlationId: envelope.correlationId ?? envelope.id,
        ...(envelope.tenantId !== undefined ? { tenantId: envelope.tenantId } : {}),
        ...(envelope.traceparent !== undefined ? { traceparent: envelope.traceparent } : {}),
        ...(shareTx && tx !== undefined ? { tx } : {}),
        ...publishOptions,
      });
    },
  };
  const filters = deps.consumeFilters ?? [];
  // The handler runs in the event's tenant and correlation (ABP runs handlers in the event's tenant).
  const ambient = { tenantId: envelope.tenantId, correlationId: envelope.correlationId ?? envelope.id };
  const running = inProcessSpan(envelope, handler.name, handler.group, run.attempt, () =>
    ambientContext.run(ambient, () =>
      filters.length === 0
        ? handler.invoke(run.event, context)
        : runConsumeFilters(filters, { envelope, event: run.event, handler: context }, async () => {
            await handler.invoke(run.event, context);
          }),
    ),
  );
  try {
    await withTimeout(running, options.handlerTimeout, () => {
      const timeout = new HandlerTimeoutError(handler.name, options.handlerTimeout);
      controller.abort(timeout);
      return timeout;
    });
  } catch (error) {
    running.catch(() => undefined); // a timed-out handler may still reject later
    throw new HandlerFailure(error);
  } finally {
    deps.stopSignal.removeEventListener('abort', onStop);
  }
  return published;
}
