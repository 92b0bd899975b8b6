import type { Envelope } from './envelope.js';
import {
  describeError,
  HandlerTimeoutError,
  HeraldError,
  UnknownEventError,
  UnsupportedEventVersionError,
} from './errors.js';
import { type EventDescriptor, instantiate, validatePayload } from './event.js';
import type { EventLogConfig } from './event-log.js';
import type { HandlerContext, HandlerRegistration, HandlerRegistry } from './handlers.js';
import type { Monitor } from './monitoring.js';
import type { HeraldOptions } from './options.js';
import type { InboxRecord, InboxStore } from './ports/inbox-store.js';
import type { Logger } from './ports/logger.js';
import type { Disposition, IncomingMessage } from './ports/transport.js';
import type { PublishOptions } from './publisher.js';
import { KeyedQueue } from './runtime/keyed-queue.js';
import { sleep, withTimeout } from './runtime/timers.js';
import type { Serializer } from './serializer.js';
import { inProcessSpan } from './telemetry.js';
import { fromWire, type WireMessage } from './wire.js';

/** Marks a message whose publishing bus already handled it inline (value: that bus's instance id). */
export const INLINE_HEADER = 'herald-handled-inline-by';

/** Wraps an error thrown by user handler code (as opposed to the store or transport). */
class HandlerFailure extends Error {
  constructor(readonly original: unknown) {
    super('handler failed');
  }
}

type Outcome = 'handled' | 'duplicate' | 'stored-for-retry' | { retryAfterMs: number; reason: string };

/** What the consumer needs from the bus. */
export interface ConsumerDeps {
  /** The owning bus's instance id (see {@link INLINE_HEADER}). */
  readonly instanceId: string;
  readonly registry: HandlerRegistry;
  readonly serializer: Serializer;
  readonly options: Readonly<HeraldOptions>;
  readonly monitor: Monitor;
  readonly logger: Logger;
  readonly inboxFor: (handler: HandlerRegistration) => EventLogConfig;
  readonly publish: (event: object, options: PublishOptions) => Promise<void>;
  /** Whether `tx` of this inbox may be used to write the outbox of follow-up events. */
  readonly sharesOutboxWith: (inbox: InboxStore) => boolean;
  /** A failure was stored for a later retry at `at`. */
  readonly onRetryScheduled: (config: EventLogConfig, at: Date) => void;
  /** A follow-up event was written by a handler transaction that has now committed. */
  readonly onFollowUpCommitted: () => void;
}

/**
 * The receiving arrows of the data path: decode → inbox (dedup) → handler.
 * Every failure becomes a disposition or a stored retry; nothing here throws
 * back into a transport's consumer loop.
 */
export class Consumer {
  readonly #deps: ConsumerDeps;
  readonly #queue: KeyedQueue;
  readonly #stop = new AbortController();

  constructor(deps: ConsumerDeps) {
    this.#deps = deps;
    this.#queue = new KeyedQueue(deps.options.concurrency);
  }

  /** Deliveries in progress. */
  get inFlight(): number {
    return this.#queue.size;
  }

  /** Resolves when no delivery is being handled. */
  whenIdle(): Promise<void> {
    return this.#queue.onIdle();
  }

  /** Aborts running handlers' signals and waits for in-flight deliveries. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#queue.onIdle();
  }

  /** The transport's entry point for one group; never rejects. */
  deliveryHandler(group: string): (message: IncomingMessage) => Promise<Disposition> {
    return (message) => {
      const orderingKey = message.headers['herald-ordering-key'];
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
    if (incoming.headers[INLINE_HEADER] === this.#deps.instanceId) return { kind: 'ack' };
    let envelope: Envelope;
    try {
      envelope = fromWire(incoming.headers, incoming.body, this.#deps.serializer);
    } catch (error) {
      return this.#deadLetter(error, {
        messageId: incoming.headers['herald-id'],
        eventName: incoming.headers['herald-name'],
      });
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
      event = await this.materialize(envelope);
    } catch (error) {
      return this.#deadLetter(error, { messageId: envelope.id, eventName: envelope.name });
    }
    const message: WireMessage = {
      id: envelope.id,
      name: envelope.name,
      ...(envelope.orderingKey !== undefined ? { orderingKey: envelope.orderingKey } : {}),
      headers: incoming.headers,
      body: incoming.body,
    };
    for (const handler of handlers) {
      const outcome = await this.#handleFresh(handler, envelope, event, message);
      if (typeof outcome === 'object') {
        return { kind: 'retry', delayMs: outcome.retryAfterMs, reason: outcome.reason };
      }
    }
    return { kind: 'ack' };
  }

  /** Upcasts and validates a decoded envelope into an instance of its event class. */
  async materialize(envelope: Envelope): Promise<unknown> {
    const descriptor = this.#deps.registry.descriptor(envelope.name);
    if (!descriptor) throw new UnknownEventError(envelope.name);
    const payload = upcast(descriptor, envelope);
    const value = await validatePayload(descriptor, payload);
    return instantiate(descriptor.type, value);
  }

  async #handleFresh(
    handler: HandlerRegistration,
    envelope: Envelope,
    event: unknown,
    message: WireMessage,
  ): Promise<Outcome> {
    const config = this.#deps.inboxFor(handler);
    const inbox = config.inbox!;
    const key = { messageId: envelope.id, handler: handler.name };
    const orderingKey = envelope.orderingKey ?? null;
    try {
      if (orderingKey !== null && (await inbox.isKeyBlocked(handler.name, orderingKey))) {
        await inbox.fail(
          {
            ...key,
            eventName: envelope.name,
            orderingKey,
            message,
            attempts: 0,
            error: 'Waiting behind an earlier message with the same ordering key',
            nextAttemptAt: new Date(),
          },
          new Date(),
        );
        this.#deps.onRetryScheduled(config, new Date());
        return 'stored-for-retry';
      }
    } catch (error) {
      return this.#storeTrouble(error);
    }

    let owned = false;
    let lastError: unknown;
    const localAttempts = this.#deps.options.localRetryTimes + 1;
    for (let attempt = 1; attempt <= localAttempts; attempt++) {
      try {
        const result = await this.#runInInbox(inbox, handler, envelope, event, attempt, owned, orderingKey);
        if (result === 'begun-not-transactional') owned = true;
        if (result === 'duplicate') {
          this.#deps.monitor.emit('duplicate', {
            eventName: envelope.name,
            messageId: envelope.id,
            handler: handler.name,
          });
          return 'duplicate';
        }
        if (result === 'busy') {
          return {
            retryAfterMs: this.#deps.options.handlerTimeout,
            reason: 'Another consumer is handling this message',
          };
        }
        if (result === 'handled') {
          this.#received('inbox', handler, envelope);
          return 'handled';
        }
      } catch (error) {
        if (!(error instanceof HandlerFailure)) return this.#storeTrouble(error);
        lastError = error.original;
        if (!inbox.transactional) owned = true;
        const willRetryLocally = attempt < localAttempts && !this.#stop.signal.aborted;
        this.#deps.monitor.emit('failed', {
          stage: 'handle',
          eventName: envelope.name,
          messageId: envelope.id,
          handler: handler.name,
          error: lastError,
          attempt,
          willRetry: willRetryLocally || this.#deps.options.maxRetryTimes > 0,
        });
        if (!willRetryLocally) break;
        await sleep(this.#deps.options.localFailedRetryInterval, this.#stop.signal);
      }
    }
    return this.#persistFailure(config, handler, envelope, message, 0, lastError);
  }

  /** Runs a stored (failed or waiting) inbox entry once; used by the inbox retry processor. */
  async handleStored(config: EventLogConfig, record: InboxRecord): Promise<void> {
    const inbox = config.inbox!;
    const handler = this.#deps.registry.handler(record.handler);
    const message = record.message;
    if (!handler || !message) {
      const reason = !handler
        ? `Handler "${record.handler}" is no longer registered`
        : 'The stored message is missing';
      await inbox.fail(
        {
          ...record,
          message: message ?? {
            id: record.messageId,
            name: record.eventName,
            headers: {},
            body: new Uint8Array(),
          },
          attempts: record.attempts,
          error: reason,
          nextAttemptAt: null,
        },
        new Date(),
      );
      this.#deps.monitor.emit('dead-lettered', {
        stage: 'handle',
        eventName: record.eventName,
        messageId: record.messageId,
        handler: record.handler,
        reason,
      });
      return;
    }
    let envelope: Envelope;
    let event: unknown;
    try {
      envelope = fromWire(message.headers, message.body, this.#deps.serializer);
      event = await this.materialize(envelope);
    } catch (error) {
      await inbox.fail(
        { ...record, message, attempts: record.attempts, error: describeError(error), nextAttemptAt: null },
        new Date(),
      );
      this.#deps.monitor.emit('dead-lettered', {
        stage: 'handle',
        eventName: record.eventName,
        messageId: record.messageId,
        handler: record.handler,
        reason: describeError(error),
      });
      return;
    }
    const attempt = record.attempts === 0 ? 1 : this.#deps.options.localRetryTimes + 1 + record.attempts;
    try {
      await inbox.transaction(async (tx) => {
        await this.#invoke(handler, envelope, event, tx, attempt, inbox);
        await inbox.complete({ messageId: record.messageId, handler: record.handler }, new Date(), tx);
      });
      this.#received('inbox', handler, envelope);
    } catch (error) {
      if (!(error instanceof HandlerFailure)) throw error; // store trouble: the lease expires, the entry is claimed again
      this.#deps.monitor.emit('failed', {
        stage: 'handle',
        eventName: envelope.name,
        messageId: envelope.id,
        handler: handler.name,
        error: error.original,
        attempt,
        willRetry: record.attempts < this.#deps.options.maxRetryTimes,
      });
      await this.#persistFailure(config, handler, envelope, message, record.attempts, error.original);
    }
  }

  /**
   * Monolith mode (in-process transport inside a unit of work): runs every
   * handler of the event in the caller's transaction; a failure propagates and
   * rolls the unit of work back (ABP's LocalDistributedEventBus semantics).
   */
  async dispatchInline(envelope: Envelope, tx: unknown): Promise<void> {
    const handlers = this.#deps.registry.handlersFor(envelope.name);
    if (handlers.length === 0) return;
    const event = await this.materialize(envelope);
    for (const handler of handlers) {
      try {
        await this.#invoke(handler, envelope, event, tx, 1, undefined);
      } catch (error) {
        throw error instanceof HandlerFailure ? error.original : error;
      }
      this.#received('direct', handler, envelope);
    }
  }

  async #runInInbox(
    inbox: InboxStore,
    handler: HandlerRegistration,
    envelope: Envelope,
    event: unknown,
    attempt: number,
    owned: boolean,
    orderingKey: string | null,
  ): Promise<'handled' | 'duplicate' | 'busy' | 'begun-not-transactional'> {
    let wroteFollowUps = false;
    const result = await inbox.transaction(async (tx) => {
      if (!owned) {
        const begin = await inbox.tryBegin(
          {
            messageId: envelope.id,
            handler: handler.name,
            eventName: envelope.name,
            orderingKey,
            leaseMs: this.#deps.options.handlerTimeout * (this.#deps.options.localRetryTimes + 2),
            now: new Date(),
          },
          tx,
        );
        if (begin !== 'begun') return begin;
      }
      wroteFollowUps = await this.#invoke(handler, envelope, event, tx, attempt, inbox);
      await inbox.complete({ messageId: envelope.id, handler: handler.name }, new Date(), tx);
      return 'handled' as const;
    });
    if (wroteFollowUps) this.#deps.onFollowUpCommitted();
    return result;
  }

  /** Runs user code with a timeout; wraps its errors in HandlerFailure. Returns whether it published follow-ups. */
  async #invoke(
    handler: HandlerRegistration,
    envelope: Envelope,
    event: unknown,
    tx: unknown,
    attempt: number,
    inbox: InboxStore | undefined,
  ): Promise<boolean> {
    const controller = new AbortController();
    const onStop = () => controller.abort(new Error('The bus is stopping'));
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    let published = false;
    // Inline (unit-of-work) handlers publish follow-ups into the ambient unit of work, not with its tx.
    const shareTx = inbox !== undefined && this.#deps.sharesOutboxWith(inbox);
    const context: HandlerContext = {
      envelope,
      tx,
      attempt,
      signal: controller.signal,
      handlerName: handler.name,
      publish: async (followUp, options = {}) => {
        published = true;
        await this.#deps.publish(followUp, {
          causationId: envelope.id,
          correlationId: envelope.correlationId ?? envelope.id,
          ...(envelope.tenantId !== undefined ? { tenantId: envelope.tenantId } : {}),
          ...(envelope.traceparent !== undefined ? { traceparent: envelope.traceparent } : {}),
          ...(shareTx && tx !== undefined ? { tx } : {}),
          ...options,
        });
      },
    };
    const running = inProcessSpan(envelope, handler.name, handler.group, attempt, () =>
      handler.invoke(event, context),
    );
    try {
      await withTimeout(running, this.#deps.options.handlerTimeout, () => {
        const timeout = new HandlerTimeoutError(handler.name, this.#deps.options.handlerTimeout);
        controller.abort(timeout);
        return timeout;
      });
    } catch (error) {
      running.catch(() => undefined); // a timed-out handler may still reject later
      throw new HandlerFailure(error);
    } finally {
      this.#stop.signal.removeEventListener('abort', onStop);
    }
    return published;
  }

  async #persistFailure(
    config: EventLogConfig,
    handler: HandlerRegistration,
    envelope: Envelope,
    message: WireMessage,
    previousAttempts: number,
    error: unknown,
  ): Promise<Outcome> {
    const attempts = previousAttempts + 1;
    const dead = attempts > this.#deps.options.maxRetryTimes;
    const now = new Date();
    const nextAttemptAt = dead
      ? null
      : new Date(now.getTime() + this.#deps.options.retryBackoff(attempts, this.#deps.options));
    try {
      await config.inbox!.fail(
        {
          messageId: envelope.id,
          handler: handler.name,
          eventName: envelope.name,
          orderingKey: envelope.orderingKey ?? null,
          message,
          attempts,
          error: describeError(error),
          nextAttemptAt,
        },
        now,
      );
    } catch (storeError) {
      return this.#storeTrouble(storeError);
    }
    if (dead) {
      this.#deps.monitor.emit('dead-lettered', {
        stage: 'handle',
        eventName: envelope.name,
        messageId: envelope.id,
        handler: handler.name,
        reason: describeError(error),
      });
    } else if (nextAttemptAt) {
      this.#deps.onRetryScheduled(config, nextAttemptAt);
    }
    return 'stored-for-retry';
  }

  #storeTrouble(error: unknown): Outcome {
    this.#deps.monitor.emit('error', { where: 'inbox', error });
    this.#deps.logger.error('Inbox store failed; the message will be redelivered', { error });
    return {
      retryAfterMs: this.#deps.options.localFailedRetryInterval,
      reason: `Inbox unavailable: ${describeError(error)}`,
    };
  }

  #deadLetter(
    error: unknown,
    at: { messageId?: string | undefined; eventName?: string | undefined },
  ): Disposition {
    const reason = describeError(error);
    this.#deps.monitor.emit('dead-lettered', {
      stage: 'receive',
      ...(at.eventName !== undefined ? { eventName: at.eventName } : {}),
      ...(at.messageId !== undefined ? { messageId: at.messageId } : {}),
      reason,
    });
    if (!(error instanceof HeraldError))
      this.#deps.logger.warn('Unexpected error while decoding a message', { error });
    return { kind: 'dead-letter', reason };
  }

  #received(source: 'inbox' | 'direct', handler: HandlerRegistration, envelope: Envelope): void {
    this.#deps.monitor.emit('received', {
      source,
      eventName: envelope.name,
      messageId: envelope.id,
      handler: handler.name,
      envelope,
    });
  }
}

/** Lifts an older payload to the current version through the event's upcasters. */
function upcast(descriptor: EventDescriptor, envelope: Envelope): unknown {
  let payload = envelope.payload;
  for (let version = envelope.version; version < descriptor.version; version++) {
    const step = descriptor.upcasters[version];
    if (!step) {
      throw new UnsupportedEventVersionError(
        envelope.name,
        envelope.version,
        `no upcaster from version ${version} to ${version + 1}`,
      );
    }
    payload = step(payload);
  }
  return payload;
}
