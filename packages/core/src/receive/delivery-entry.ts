import type { Envelope } from '../envelope.js';
import { describeError, HeraldError, MalformedMessageError, UnknownEventError } from '../errors.js';
import type { EventLogConfig } from '../event-log.js';
import type { HandlerRegistration, HandlerRegistry } from '../handlers.js';
import type { Monitor } from '../monitoring.js';
import type { HeraldOptions } from '../options.js';
import type { Logger } from '../ports/logger.js';
import type { Disposition, IncomingMessage } from '../ports/transport.js';
import { KeyedQueue } from '../runtime/keyed-queue.js';
import type { Serializer } from '../serializer.js';
import { fromWire, WireHeaders, type WireMessage } from '../wire.js';
import { materialize } from './decode.js';
import { holdDelivery } from './held-delivery.js';
import type { InboxBatcher, InboxWork } from './inbox-batcher.js';
import type { InboxRunner } from './inbox-runner.js';
import type { StoreOutage } from './store-outage.js';

/** What one handler's work came to: done, or deliver the message again later. */
type HandlerOutcome =
  | { readonly done: true }
  | { readonly retryAfterMs: number; readonly reason: string }
  | { readonly deadLetter: string };

const DONE: HandlerOutcome = { done: true };

/** What the entry needs from the consumer. */
export interface EntryDeps {
  /** The owning bus's instance id (see `WireHeaders.handledInlineBy`). */
  readonly instanceId: string;
  readonly registry: HandlerRegistry;
  readonly serializer: Serializer;
  readonly options: Readonly<HeraldOptions>;
  readonly monitor: Monitor;
  readonly logger: Logger;
  /** The inbox of a handler for an event of `tenantId` (database per tenant). */
  readonly inboxFor: (handler: HandlerRegistration, tenantId: string | undefined) => EventLogConfig;
  readonly batcherFor: (config: EventLogConfig) => InboxBatcher;
  readonly runner: InboxRunner;
  readonly outageOf: (config: EventLogConfig) => StoreOutage;
  readonly stopSignal: AbortSignal;
  readonly onRetryScheduled: (config: EventLogConfig, at: Date) => void;
}

/**
 * Where transports hand deliveries to core: keeps per-key order, decodes
 * (malformed → dead letter), and sends each handler's work into its inbox's
 * next batch; the worst handler outcome becomes the delivery's disposition.
 */
export class DeliveryEntry {
  readonly #deps: EntryDeps;
  /** Per-key order only: how many deliveries are in flight is the transport's window. */
  readonly #queue = new KeyedQueue(Number.POSITIVE_INFINITY);

  constructor(deps: EntryDeps) {
    this.#deps = deps;
  }

  /** Deliveries in progress. */
  get inFlight(): number {
    return this.#queue.size;
  }

  whenIdle(): Promise<void> {
    return this.#queue.onIdle();
  }

  /** The transport's entry point for one group; never rejects. */
  handlerFor(group: string): (message: IncomingMessage) => Promise<Disposition> {
    return (message) => {
      const orderingKey = message.headers[WireHeaders.orderingKey];
      return this.#queue
        .run(orderingKey === undefined ? undefined : `${group}\u0000${orderingKey}`, () =>
          this.#deliver(group, message),
        )
        .catch((error) => {
          this.#deps.logger.error('Unexpected error while handling a delivery', { error });
          return {
            kind: 'retry',
            delayMs: this.#deps.options.localFailedRetryInterval,
            reason: describeError(error),
          };
        });
    };
  }

  async #deliver(group: string, incoming: IncomingMessage): Promise<Disposition> {
    // This bus already ran its handlers inside the publishing unit of work (monolith mode).
    if (incoming.headers[WireHeaders.handledInlineBy] === this.#deps.instanceId) return { kind: 'ack' };
    let envelope: Envelope;
    try {
      envelope = fromWire(incoming.headers, incoming.body, this.#deps.serializer);
    } catch (error) {
      return this.#deadLetter(error, incoming.headers[WireHeaders.id], incoming.headers[WireHeaders.name]);
    }
    const handlers = this.#deps.registry
      .handlersFor(envelope.name)
      .filter((handler) => handler.group === group);
    if (handlers.length === 0 && incoming.channelShared === true) {
      // A channel shared by design carries names other groups handle: not ours, not an error.
      this.#deps.monitor.emit('skipped', { group, eventName: envelope.name, messageId: envelope.id });
      this.#deps.logger.debug('Skipped an event this group does not handle (shared channel)', {
        group,
        eventName: envelope.name,
      });
      return { kind: 'ack' };
    }
    let event: unknown;
    try {
      if (handlers.length === 0) throw new UnknownEventError(envelope.name);
      event = await materialize(this.#deps.registry, envelope);
    } catch (error) {
      return this.#deadLetter(error, envelope.id, envelope.name);
    }
    const message: WireMessage = {
      id: envelope.id,
      name: envelope.name,
      ...(envelope.orderingKey !== undefined ? { orderingKey: envelope.orderingKey } : {}),
      headers: incoming.headers,
      body: incoming.body,
    };
    const outcomes = await Promise.all(
      handlers.map((handler) => this.#handle({ handler, envelope, event, message })),
    );
    let retry: { retryAfterMs: number; reason: string } | undefined;
    for (const outcome of outcomes) {
      if ('done' in outcome) continue;
      if ('deadLetter' in outcome) return { kind: 'dead-letter', reason: outcome.deadLetter };
      if (!retry || outcome.retryAfterMs > retry.retryAfterMs) retry = outcome;
    }
    return retry ? { kind: 'retry', delayMs: retry.retryAfterMs, reason: retry.reason } : { kind: 'ack' };
  }

  /** One handler's work through its inbox; waits out a store outage instead of failing the delivery. */
  async #handle(work: InboxWork): Promise<HandlerOutcome> {
    const { options, monitor } = this.#deps;
    const { handler, envelope } = work;
    let config: EventLogConfig;
    try {
      config = this.#deps.inboxFor(handler, envelope.tenantId);
    } catch (error) {
      // A tenant no inbox serves (every inbox lists its tenants): redelivering cannot help.
      return { deadLetter: this.#deadLetter(error, envelope.id, envelope.name).reason };
    }
    const outage = this.#deps.outageOf(config);
    for (;;) {
      if (!(await outage.admit(this.#deps.stopSignal))) {
        return { retryAfterMs: options.localFailedRetryInterval, reason: 'The consumer is stopping' };
      }
      if (!config.processing) {
        const held = await this.#hold(config, work);
        if (held) return held;
        continue; // the store failed: wait for it at the gate
      }
      const result = await this.#deps.batcherFor(config).submit(work);
      if (result.kind === 'store-failed') {
        if (result.error instanceof MalformedMessageError) {
          const { reason } = this.#deadLetter(result.error, envelope.id, envelope.name);
          return { deadLetter: reason };
        }
        outage.failed(result.error);
        continue; // wait for the store at the gate, then try again
      }
      outage.succeeded();
      switch (result.kind) {
        case 'handled':
          monitor.emit('received', {
            source: 'inbox',
            eventName: envelope.name,
            messageId: envelope.id,
            handler: handler.name,
            envelope,
          });
          return DONE;
        case 'duplicate':
          monitor.emit('duplicate', {
            eventName: envelope.name,
            messageId: envelope.id,
            handler: handler.name,
          });
          return DONE;
        case 'parked':
          this.#deps.onRetryScheduled(config, new Date());
          return DONE;
        case 'busy':
          return {
            retryAfterMs: options.handlerTimeout,
            reason: 'Another consumer is handling this message',
          };
        case 'handler-failed': {
          const outcome = await this.#deps.runner.afterFirstFailure(config, work, result.error, result.owned);
          if (typeof outcome === 'string') return DONE;
          if ('busy' in outcome) {
            return {
              retryAfterMs: options.handlerTimeout,
              reason: 'Another consumer is handling this message',
            };
          }
          outage.failed(outcome.storeError);
          return {
            retryAfterMs: options.localFailedRetryInterval,
            reason: `Inbox unavailable: ${describeError(outcome.storeError)}`,
          };
        }
      }
    }
  }

  /** `processing: false`: store the delivery for a replica that processes; undefined on a store failure. */
  async #hold(config: EventLogConfig, work: InboxWork): Promise<HandlerOutcome | undefined> {
    const { options } = this.#deps;
    const outage = this.#deps.outageOf(config);
    try {
      const held = await holdDelivery(config.inbox!, work, options.handlerTimeout);
      outage.succeeded();
      if (held === 'busy')
        return { retryAfterMs: options.handlerTimeout, reason: 'Another consumer is handling this message' };
      if (held === 'held') this.#deps.onRetryScheduled(config, new Date());
      return DONE;
    } catch (error) {
      if (error instanceof MalformedMessageError) {
        return { deadLetter: this.#deadLetter(error, work.envelope.id, work.envelope.name).reason };
      }
      outage.failed(error);
      return undefined;
    }
  }

  #deadLetter(
    error: unknown,
    messageId: string | undefined,
    eventName: string | undefined,
  ): { kind: 'dead-letter'; reason: string } {
    const reason = describeError(error);
    this.#deps.monitor.emit('dead-lettered', {
      stage: 'receive',
      ...(eventName !== undefined ? { eventName } : {}),
      ...(messageId !== undefined ? { messageId } : {}),
      reason,
    });
    if (!(error instanceof HeraldError)) {
      this.#deps.logger.warn('Unexpected error while decoding a message', { error });
    }
    return { kind: 'dead-letter', reason };
  }
}
