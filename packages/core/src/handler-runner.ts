import type { ConsumeFilter } from './context/filters.js';
import type { Envelope } from './envelope.js';
import type { EventLogConfig } from './event-log.js';
import type { HandlerRegistration, HandlerRegistry } from './handlers.js';
import type { Monitor } from './monitoring.js';
import type { HeraldOptions } from './options.js';
import type { InboxRecord, InboxStore } from './ports/inbox-store.js';
import type { Logger } from './ports/logger.js';
import type { Fence } from './ports/outbox-store.js';
import type { Disposition, IncomingMessage } from './ports/transport.js';
import type { PublishOptions } from './publish-options.js';
import { materialize } from './receive/decode.js';
import { DeliveryEntry } from './receive/delivery-entry.js';
import { HandlerFailure, type Invocation, invokeHandler } from './receive/handler-invocation.js';
import { InboxBatcher } from './receive/inbox-batcher.js';
import { InboxRunner } from './receive/inbox-runner.js';
import { StoreOutage } from './receive/store-outage.js';
import type { Serializer } from './serializer.js';

/** What the handler runner needs from the bus. */
export interface HandlerRunnerDeps {
  /** The owning bus's instance id (see `WireHeaders.handledInlineBy`). */
  readonly instanceId: string;
  readonly registry: HandlerRegistry;
  readonly serializer: Serializer;
  readonly options: Readonly<HeraldOptions>;
  readonly monitor: Monitor;
  readonly logger: Logger;
  /** The inbox of a handler for an event of `tenantId` (database per tenant). */
  readonly inboxFor: (handler: HandlerRegistration, tenantId: string | undefined) => EventLogConfig;
  readonly publish: (event: object, options: PublishOptions) => Promise<void>;
  /** Whether `tx` of this inbox may be used to write the outbox of follow-up events. */
  readonly sharesOutboxWith: (inbox: InboxStore) => boolean;
  /** A failure was stored for a later retry at `at`. */
  readonly onRetryScheduled: (config: EventLogConfig, at: Date) => void;
  /** A follow-up event was written by a handler transaction that has now committed. */
  readonly onFollowUpCommitted: () => void;
  /** Consume filters around every handler call. */
  readonly consumeFilters: readonly ConsumeFilter[];
}

/**
 * Runs the handlers of received messages — not a broker consumer (transports
 * own those; they call {@link HandlerRunner.deliveryHandler}). The receiving
 * arrows of the data path, put together: the entry transports
 * call (decode, per-key order), group commit per inbox, the retry paths, and
 * inline dispatch for the monolith. Every failure becomes a disposition or a
 * stored retry; nothing here throws back into a transport's consumer loop.
 */
export class HandlerRunner {
  readonly #deps: HandlerRunnerDeps;
  readonly #stop = new AbortController();
  readonly #invoke: (run: Invocation) => Promise<boolean>;
  readonly #batchers = new Map<EventLogConfig, InboxBatcher>();
  readonly #runner: InboxRunner;
  readonly #outages = new Map<EventLogConfig, StoreOutage>();
  readonly #entry: DeliveryEntry;

  constructor(deps: HandlerRunnerDeps) {
    this.#deps = deps;
    const stopSignal = this.#stop.signal;
    this.#invoke = (run) =>
      invokeHandler(
        {
          options: deps.options,
          publish: deps.publish,
          sharesOutboxWith: deps.sharesOutboxWith,
          stopSignal,
          consumeFilters: deps.consumeFilters,
        },
        run,
      );
    this.#runner = new InboxRunner({
      registry: deps.registry,
      serializer: deps.serializer,
      options: deps.options,
      monitor: deps.monitor,
      invoke: this.#invoke,
      stopSignal,
      onRetryScheduled: deps.onRetryScheduled,
      onFollowUpCommitted: deps.onFollowUpCommitted,
    });
    this.#entry = new DeliveryEntry({
      instanceId: deps.instanceId,
      registry: deps.registry,
      serializer: deps.serializer,
      options: deps.options,
      monitor: deps.monitor,
      logger: deps.logger,
      inboxFor: deps.inboxFor,
      batcherFor: (config) => this.#batcherFor(config),
      runner: this.#runner,
      outageOf: (config) => this.outageOf(config),
      stopSignal,
      onRetryScheduled: deps.onRetryScheduled,
    });
  }

  /** Deliveries in progress. */
  get inFlight(): number {
    return this.#entry.inFlight;
  }

  /** An inbox store outage in progress, if any (health probes). */
  get storeOutage(): { readonly since: Date; readonly reason: string } | undefined {
    for (const outage of this.#outages.values()) if (outage.current) return outage.current;
    return undefined;
  }

  /** The health of one inbox's store, shared by its deliveries and its retry processor. */
  outageOf(config: EventLogConfig): StoreOutage {
    let outage = this.#outages.get(config);
    if (!outage) {
      outage = new StoreOutage(this.#deps.logger, this.#deps.monitor, config.name);
      this.#outages.set(config, outage);
    }
    return outage;
  }

  /** Resolves when no delivery is being handled. */
  whenIdle(): Promise<void> {
    return this.#entry.whenIdle();
  }

  /** Aborts running handlers' signals and waits for in-flight deliveries. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#entry.whenIdle();
  }

  /** The transport's entry point for one group; never rejects. */
  deliveryHandler(group: string): (message: IncomingMessage) => Promise<Disposition> {
    return this.#entry.handlerFor(group);
  }

  /**
   * Runs a stored (failed or waiting) inbox entry once; used by the inbox retry
   * processor, which passes the fence of its lock (see `InboxStore.complete`).
   */
  handleStored(config: EventLogConfig, record: InboxRecord, fence?: Fence): Promise<void> {
    return this.#runner.handleStored(config, record, fence);
  }

  /**
   * Monolith mode (in-process transport inside a unit of work): runs every
   * handler of the event in the caller's transaction; a failure propagates and
   * rolls the unit of work back (ABP's LocalDistributedEventBus semantics).
   */
  async dispatchInline(envelope: Envelope, tx: unknown): Promise<void> {
    const handlers = this.#deps.registry.handlersFor(envelope.name);
    if (handlers.length === 0) return;
    const event = await materialize(this.#deps.registry, envelope);
    for (const handler of handlers) {
      try {
        await this.#invoke({ handler, envelope, event, tx, attempt: 1, inbox: undefined });
      } catch (error) {
        throw error instanceof HandlerFailure ? error.original : error;
      }
      this.#deps.monitor.emit('received', {
        source: 'direct',
        eventName: envelope.name,
        messageId: envelope.id,
        handler: handler.name,
        envelope,
      });
    }
  }

  #batcherFor(config: EventLogConfig): InboxBatcher {
    let batcher = this.#batchers.get(config);
    if (!batcher) {
      const { options } = this.#deps;
      batcher = new InboxBatcher({
        inbox: config.inbox!,
        batchSize: options.inboxBatchSize,
        maxBatches: options.concurrency,
        leaseFor: (size) => options.handlerTimeout * (size + options.localRetryTimes + 1),
        invoke: this.#invoke,
        onFollowUpCommitted: this.#deps.onFollowUpCommitted,
      });
      this.#batchers.set(config, batcher);
    }
    return batcher;
  }
}
