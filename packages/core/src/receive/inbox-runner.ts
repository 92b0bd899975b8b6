import type { Envelope } from '../envelope.js';
import { describeError } from '../errors.js';
import type { EventLogConfig } from '../event-log.js';
import type { HandlerRegistration, HandlerRegistry } from '../handlers.js';
import type { Monitor } from '../monitoring.js';
import type { HeraldOptions } from '../options.js';
import type { InboxRecord, InboxStore } from '../ports/inbox-store.js';
import type { Fence } from '../ports/outbox-store.js';
import { decideRetry } from '../retry-policy.js';
import { sleep } from '../runtime/timers.js';
import type { Serializer } from '../serializer.js';
import { fromWire, type WireMessage } from '../wire.js';
import { materialize } from './decode.js';
import { HandlerFailure, type Invocation } from './handler-invocation.js';
import type { InboxWork } from './inbox-batcher.js';

/** How the retry path left a piece of work. */
export type RetryOutcome =
  | 'handled'
  | 'duplicate'
  | 'stored-for-retry'
  | { readonly storeError: unknown }
  | { readonly busy: true };

/** What the runner needs from the consumer. */
export interface RunnerDeps {
  readonly registry: HandlerRegistry;
  readonly serializer: Serializer;
  readonly options: Readonly<HeraldOptions>;
  readonly monitor: Monitor;
  readonly invoke: (run: Invocation) => Promise<boolean>;
  readonly stopSignal: AbortSignal;
  /** A failure was stored for a later retry at `at`. */
  readonly onRetryScheduled: (config: EventLogConfig, at: Date) => void;
  /** A transaction that wrote follow-up events has committed. */
  readonly onFollowUpCommitted: () => void;
}

/**
 * The inbox's retry paths, one piece of work at a time: the local retries of
 * work whose first attempt failed in a batch, the stored retries the retry
 * processor claims, and the persistent failure that schedules the next
 * attempt or dead-letters.
 */
export class InboxRunner {
  readonly #deps: RunnerDeps;

  constructor(deps: RunnerDeps) {
    this.#deps = deps;
  }

  /** Work whose first attempt failed: local retries in this process, then a stored failure. */
  async afterFirstFailure(
    config: EventLogConfig,
    work: InboxWork,
    firstError: unknown,
    owned: boolean,
  ): Promise<RetryOutcome> {
    const { options } = this.#deps;
    const inbox = config.inbox!;
    const localAttempts = options.localRetryTimes + 1;
    let lastError = firstError;
    let holding = owned;
    for (let attempt = 1; ; attempt++) {
      const willRetryLocally = attempt < localAttempts && !this.#deps.stopSignal.aborted;
      const willRetry = willRetryLocally || options.maxRetryTimes > 0;
      this.#emitFailed(work.handler, work.envelope, lastError, attempt, willRetry);
      if (!willRetryLocally) break;
      await sleep(options.localFailedRetryInterval, this.#deps.stopSignal);
      try {
        const result = await this.#runOnce(inbox, work, attempt + 1, holding);
        if (result !== 'begun') return result === 'busy' ? { busy: true } : result;
        return 'handled';
      } catch (error) {
        if (!(error instanceof HandlerFailure)) return { storeError: error };
        lastError = error.original;
        if (!inbox.transactional) holding = true;
      }
    }
    return this.#persistFailure(config, work.handler, work.envelope, work.message, 0, lastError);
  }

  /**
   * Runs a stored (failed or waiting) inbox entry once; used by the inbox retry processor. With
   * `fence`, the entry is marked processed only while no newer holder of the processor's lock
   * appeared: otherwise `StaleFencingTokenError` rejects and the handler's transaction rolls back.
   */
  async handleStored(config: EventLogConfig, record: InboxRecord, fence?: Fence): Promise<void> {
    const inbox = config.inbox!;
    const handler = this.#deps.registry.handler(record.handler);
    const message = record.message;
    if (!handler || !message) {
      const reason = !handler
        ? `Handler "${record.handler}" is no longer registered`
        : 'The stored message is missing';
      await this.#deadStored(inbox, record, message, reason);
      return;
    }
    let envelope: Envelope;
    let event: unknown;
    try {
      envelope = fromWire(message.headers, message.body, this.#deps.serializer);
      event = await materialize(this.#deps.registry, envelope);
    } catch (error) {
      await this.#deadStored(inbox, record, message, describeError(error));
      return;
    }
    const { options } = this.#deps;
    const attempt = record.attempts === 0 ? 1 : options.localRetryTimes + 1 + record.attempts;
    let followUps = false;
    try {
      await inbox.transaction(async (tx) => {
        followUps = await this.#deps.invoke({ handler, envelope, event, tx, attempt, inbox });
        await inbox.complete({ messageId: record.messageId, handler: record.handler }, new Date(), tx, fence);
      });
    } catch (error) {
      if (!(error instanceof HandlerFailure)) throw error; // store trouble: the lease expires, the entry is claimed again
      this.#emitFailed(handler, envelope, error.original, attempt, record.attempts < options.maxRetryTimes);
      await this.#persistFailure(config, handler, envelope, message, record.attempts, error.original);
      return;
    }
    if (followUps) this.#deps.onFollowUpCommitted();
    this.#received(handler, envelope);
  }

  /** Emits `received` for a handling that committed. */
  #received(handler: HandlerRegistration, envelope: Envelope): void {
    this.#deps.monitor.emit('received', {
      source: 'inbox',
      eventName: envelope.name,
      messageId: envelope.id,
      handler: handler.name,
      envelope,
    });
  }

  /** One local retry in its own transaction; `begun` when it was handled. */
  async #runOnce(
    inbox: InboxStore,
    work: InboxWork,
    attempt: number,
    owned: boolean,
  ): Promise<'begun' | 'duplicate' | 'busy'> {
    const { handler, envelope, event } = work;
    let followUps = false;
    const result = await inbox.transaction(async (tx) => {
      if (!owned) {
        const begun = await inbox.tryBegin(
          {
            messageId: envelope.id,
            handler: handler.name,
            eventName: envelope.name,
            orderingKey: envelope.orderingKey ?? null,
            leaseMs: this.#deps.options.handlerTimeout * (this.#deps.options.localRetryTimes + 2),
            now: new Date(),
          },
          tx,
        );
        if (begun !== 'begun') return begun;
      }
      followUps = await this.#deps.invoke({ handler, envelope, event, tx, attempt, inbox });
      await inbox.complete({ messageId: envelope.id, handler: handler.name }, new Date(), tx);
      return 'begun' as const;
    });
    if (followUps) this.#deps.onFollowUpCommitted();
    if (result === 'begun') this.#received(handler, envelope);
    else if (result === 'duplicate') this.#duplicate(handler, envelope);
    return result;
  }

  #duplicate(handler: HandlerRegistration, envelope: Envelope): void {
    this.#deps.monitor.emit('duplicate', {
      eventName: envelope.name,
      messageId: envelope.id,
      handler: handler.name,
    });
  }

  async #persistFailure(
    config: EventLogConfig,
    handler: HandlerRegistration,
    envelope: Envelope,
    message: WireMessage,
    previousAttempts: number,
    error: unknown,
  ): Promise<RetryOutcome> {
    const now = new Date();
    const decision = decideRetry(previousAttempts, this.#deps.options, now);
    try {
      await config.inbox!.fail(
        {
          messageId: envelope.id,
          handler: handler.name,
          eventName: envelope.name,
          orderingKey: envelope.orderingKey ?? null,
          message,
          attempts: decision.attempts,
          error: describeError(error),
          nextAttemptAt: decision.nextAttemptAt,
        },
        now,
      );
    } catch (storeError) {
      return { storeError };
    }
    if (decision.dead) {
      this.#deps.monitor.emit('dead-lettered', {
        stage: 'handle',
        eventName: envelope.name,
        messageId: envelope.id,
        handler: handler.name,
        reason: describeError(error),
      });
    } else if (decision.nextAttemptAt) {
      this.#deps.onRetryScheduled(config, decision.nextAttemptAt);
    }
    return 'stored-for-retry';
  }

  /** A stored entry that can never run: dead, with the reason. */
  async #deadStored(
    inbox: InboxStore,
    record: InboxRecord,
    message: WireMessage | null,
    reason: string,
  ): Promise<void> {
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
  }

  #emitFailed(
    handler: HandlerRegistration,
    envelope: Envelope,
    error: unknown,
    attempt: number,
    willRetry: boolean,
  ): void {
    this.#deps.monitor.emit('failed', {
      stage: 'handle',
      eventName: envelope.name,
      messageId: envelope.id,
      handler: handler.name,
      error,
      attempt,
      willRetry,
    });
  }
}
