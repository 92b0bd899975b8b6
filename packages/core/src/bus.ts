import { hostname } from 'node:os';
import { AggregateEventCollector } from './aggregate/aggregate-collector.js';
import { type EventCatalog, eventCatalog } from './catalog.js';
import { CleanupProcessor } from './cleanup.js';
import type { ConsumeFilter, PublishFilter } from './context/filters.js';
import type { ConverterRegistry } from './converters.js';
import { BusStateError, ConfigurationError, describeError } from './errors.js';
import type { EventType } from './event.js';
import type { EventLogConfig } from './event-log.js';
import { routeByTenant } from './event-log-routing.js';
import { HandlerRunner } from './handler-runner.js';
import type { HandlerRegistry } from './handlers.js';
import { InboxRetryProcessor } from './inbox-retry-processor.js';
import type { BusEventListener, BusEventName, Monitor } from './monitoring.js';
import type { HeraldOptions } from './options.js';
import type { DistributedLock } from './ports/lock.js';
import type { Logger } from './ports/logger.js';
import type { SubscriptionHandle, Transport } from './ports/transport.js';
import type { UnitOfWorkAccessor } from './ports/unit-of-work.js';
import { type PreparedEvent, Publisher, type PublishOptions } from './publisher.js';
import { redactSecrets } from './redact.js';
import { brokerOutage, OutboxRelay } from './relay.js';
import { LeaseKeeper } from './runtime/lease-keeper.js';
import type { Outage } from './runtime/outage.js';
import { sleep } from './runtime/timers.js';
import type { Serializer } from './serializer.js';
import { observeBacklog } from './telemetry.js';
import { uuidv7 } from './uuid.js';
import { fromWire } from './wire.js';

/** Everything the builder resolved. */
export interface BusSettings {
  /** This service's name: the events' source and the default consumer group. */
  readonly service: string;
  /** The validated options, defaults applied. */
  readonly options: Readonly<HeraldOptions>;
  /** The broker adapter (the in-process transport when none was given). */
  readonly transport: Transport;
  /** The event-log configurations in routing order (an in-memory one added when needed). */
  readonly eventLogs: readonly EventLogConfig[];
  /** The lock coordinating relays and inbox processors across replicas; undefined: none (one replica). */
  readonly lock: DistributedLock | undefined;
  /** Finds the ambient unit of work publishes join; undefined when none is configured. */
  readonly unitOfWork: UnitOfWorkAccessor | undefined;
  /** Encodes and decodes payloads (JSON by default). */
  readonly serializer: Serializer;
  /** Where the bus logs, wrapped so connection-string credentials never reach it. */
  readonly logger: Logger;
  /** The registered handlers and the events they handle. */
  readonly registry: HandlerRegistry;
  /** Domain-event converters registered with the builder (domain event class → integration events). */
  readonly converters: ConverterRegistry;
  /** Run on every publish, in registration order, before the envelope is built. */
  readonly publishFilters: readonly PublishFilter[];
  /** Run around every handler invocation, in registration order. */
  readonly consumeFilters: readonly ConsumeFilter[];
  /** Dispatches the bus's monitoring events to listeners. */
  readonly monitor: Monitor;
  /** In-process transport with the embedded event log: handlers run inside the unit of work. */
  readonly inlineInUnitOfWork: boolean;
}

type BusState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** What {@link IntegrationEventBus.health} reports. */
export interface BusHealth {
  /** The bus's lifecycle state: `created`, `starting`, `running`, `stopping` or `stopped`. */
  readonly state: BusState;
  /** The process should keep running (liveness). */
  readonly live: boolean;
  /** The bus can do its job now (readiness). */
  readonly ready: boolean;
  /** The transport's connection. */
  readonly transport: {
    /** The transport's engine name, e.g. `rabbitmq`. */
    readonly name: string;
    /** Whether the broker is reachable now (a transport without a health check: whether the bus runs). */
    readonly connected: boolean;
    /** The transport's explanation, credentials redacted; absent when it gives none. */
    readonly detail?: string;
  };
  /** Backlog of the outboxes whose store can tell; undefined when an event log could not be read. */
  readonly outbox:
    | {
        /** Unpublished records, summed over the outboxes. */
        readonly pending: number;
        /** Age of the oldest due unpublished record in seconds; 0 when none waits. */
        readonly oldestAgeSeconds: number;
        /** True when that age exceeds `maxRelayLagMs` (default 60 s): the bus is then not ready. */
        readonly lagging: boolean;
      }
    | undefined;
  /** Each relay (one per outbox, or per shard) and whether it holds its lock (always true without a lock). */
  readonly relays: ReadonlyArray<{
    /** The event log's name, with `#<shard>` appended when relays are sharded. */
    readonly name: string;
    /** Whether it holds its lease now, so it is the one relaying. */
    readonly holdsLock: boolean;
  }>;
  /**
   * Whether every event log answered a read just now (outbox backlog, inbox
   * list); `detail` names the first failure, credentials redacted.
   */
  readonly eventLog: {
    /** True when every event log answered. */
    readonly reachable: boolean;
    /** The first failure, credentials redacted; absent when reachable. */
    readonly detail?: string;
  };
  /** The consumer's inbox store: unavailable while deliveries wait out a store outage. */
  readonly inbox: {
    /** False while deliveries wait out an inbox store outage. */
    readonly available: boolean;
    /** When the outage began; absent when available. */
    readonly since?: Date;
    /** The store's error, credentials redacted; absent when available. */
    readonly reason?: string;
  };
  /** Why `ready` is false (empty when ready); safe to show: credentials redacted. */
  readonly reasons: readonly string[];
}

/** One line for a health report: credentials redacted, whitespace collapsed. */
function safeDetail(text: string): string {
  return redactSecrets(text).replace(/\s+/g, ' ').trim();
}

/**
 * A configured integration event bus: publish events, and run the relay,
 * consumers and background processors between `start()` and `stop()`.
 */
export class IntegrationEventBus {
  /** This service's name: the events' source and the default consumer group. */
  readonly service: string;
  /** The validated options, defaults applied. */
  readonly options: Readonly<HeraldOptions>;
  /** The broker adapter in use (the in-process transport when none was configured). */
  readonly transport: Transport;
  /** The event-log configurations (outbox/inbox pairs) in routing order, the embedded in-memory one included. */
  readonly eventLogs: readonly EventLogConfig[];
  /** Instance id used as the claim owner and in logs. */
  readonly instanceId: string;
  readonly #settings: BusSettings;
  readonly #publisher: Publisher;
  readonly #runner: HandlerRunner;
  /** The transport's outage as the relays see it: one for all of them, so it is logged once. */
  #brokerOutage: Outage | undefined;
  readonly #relays = new Map<EventLogConfig, OutboxRelay[]>();
  readonly #inboxProcessors = new Map<EventLogConfig, InboxRetryProcessor>();
  readonly #cleanup: CleanupProcessor;
  readonly #aggregates: AggregateEventCollector;
  #subscriptions: SubscriptionHandle[] = [];
  #stopObservingBacklog: (() => void) | undefined;
  #state: BusState = 'created';
  #stopping: Promise<void> | undefined;

  constructor(settings: BusSettings) {
    this.#settings = settings;
    this.service = settings.service;
    this.options = settings.options;
    this.transport = settings.transport;
    this.eventLogs = settings.eventLogs;
    this.instanceId = `${settings.service}@${hostname()}:${process.pid}:${uuidv7().slice(-8)}`;

    this.#runner = new HandlerRunner({
      instanceId: this.instanceId,
      registry: settings.registry,
      serializer: settings.serializer,
      options: settings.options,
      monitor: settings.monitor,
      logger: settings.logger,
      inboxFor: (handler, tenantId) => this.#inboxFor(handler.name, tenantId),
      publish: (event, options) => this.publish(event, options),
      sharesOutboxWith: (inbox) =>
        settings.eventLogs.some(
          (c) => c.outbox && c.outbox.databaseName === inbox.databaseName && c.outbox.transactional,
        ),
      onRetryScheduled: (config, at) => this.#inboxProcessors.get(config)?.wakeAt(at),
      onFollowUpCommitted: () => {
        for (const relay of this.#allRelays()) relay.wake();
      },
      consumeFilters: settings.consumeFilters,
    });
    this.#publisher = new Publisher({
      service: settings.service,
      instanceId: this.instanceId,
      serializer: settings.serializer,
      transport: settings.transport,
      eventLogs: settings.eventLogs,
      unitOfWork: settings.unitOfWork,
      monitor: settings.monitor,
      knownEvent: (type: EventType) => settings.registry.registerEvent(type),
      publishFilters: settings.publishFilters,
      onStored: (config, committed, dueAt) => {
        for (const relay of this.#relays.get(config) ?? []) {
          // A delayed record: one wake-up when the earliest is due (restarts and other processes poll).
          if (dueAt && dueAt.getTime() > Date.now()) relay.wakeAt(dueAt);
          else if (committed) relay.committed();
          else relay.nudge();
        }
      },
      inlineDispatch: settings.inlineInUnitOfWork
        ? (events, tx) => this.#dispatchInline(events, tx)
        : undefined,
    });
    for (const name of settings.registry.handlerNames()) {
      if (this.#inboxCandidates(name).length === 0)
        throw new ConfigurationError(`No inbox accepts handler "${name}"`);
    }
    for (const config of settings.eventLogs) {
      if (config.outbox && config.sending) this.#relays.set(config, this.#createRelays(config));
      // Every handler whose entries this inbox may hold (with tenants, one handler has several inboxes).
      const handlers = settings.registry
        .handlerNames()
        .filter((name) => this.#inboxCandidates(name).includes(config));
      if (config.inbox && config.processing && handlers.length > 0) {
        this.#inboxProcessors.set(
          config,
          new InboxRetryProcessor({
            config,
            runner: this.#runner,
            options: settings.options,
            owner: this.instanceId,
            handlers,
            logger: settings.logger,
            ...(settings.lock ? { lease: this.#leaseKeeper('inbox', config) } : {}),
          }),
        );
      }
    }
    this.#aggregates = new AggregateEventCollector({
      unitOfWork: settings.unitOfWork,
      converters: settings.converters,
      publish: (events, options) => this.publish(events, options),
    });
    this.#cleanup = new CleanupProcessor({
      configs: settings.eventLogs,
      options: settings.options,
      monitor: settings.monitor,
    });
  }

  /** The unit-of-work accessor given to `useUnitOfWork()`, if any (integrations publish into it). */
  get unitOfWork(): UnitOfWorkAccessor | undefined {
    return this.#settings.unitOfWork;
  }

  /** The events this service publishes and handles, and by which handlers (see {@link EventCatalog}). */
  catalog(): EventCatalog {
    return eventCatalog(this.service, this.#settings.registry, this.transport);
  }

  /** `created` → `starting` → `running` → `stopping` → `stopped`. */
  get state(): BusState {
    return this.#state;
  }

  /**
   * Publishes one event or several. With `{ tx }` (or inside a unit of work)
   * the outbox records commit with the caller's transaction; otherwise they
   * are stored on their own and relayed at once. Schema violations and other
   * bad input reject with a typed error before anything is stored.
   */
  publish(events: object | readonly object[], options?: PublishOptions): Promise<void> {
    return this.#publisher.publish(events, options);
  }

  /** Converts domain events with the registered converters and publishes the results. */
  async publishDomainEvents(
    domainEvents: object | readonly object[],
    options?: PublishOptions,
  ): Promise<void> {
    const list = Array.isArray(domainEvents) ? domainEvents : [domainEvents];
    const integrationEvents = list.flatMap((domainEvent) =>
      this.#settings.converters.convert(domainEvent as object),
    );
    if (integrationEvents.length > 0) await this.publish(integrationEvents, options);
  }

  /**
   * Takes the events the entities recorded (`AggregateRoot.addDistributedEvent`,
   * `recordDomainEvent`, …), converts the domain ones and publishes them with
   * `options` — for saves outside a unit of work (`{ tx }`). Inside a unit of
   * work this is not needed: an entity that records an event there is
   * published when the unit of work completes. A second call publishes nothing.
   */
  publishRecordedEvents(entities: object | readonly object[], options?: PublishOptions): Promise<void> {
    return this.#aggregates.publishRecorded(Array.isArray(entities) ? entities : [entities], options);
  }

  /** Listens to a monitoring event (`sent`, `received`, `failed`, `dead-lettered`, `duplicate`, `error`). */
  on<K extends BusEventName>(name: K, listener: BusEventListener<K>): () => void {
    return this.#settings.monitor.on(name, listener);
  }

  /** Connects the transport and starts relays, consumers and background processors. */
  async start(): Promise<void> {
    if (this.#state !== 'created')
      throw new BusStateError(`The bus cannot start from state "${this.#state}"`);
    this.#state = 'starting';
    try {
      await this.transport.start();
      for (const relay of this.#allRelays()) relay.start();
      for (const [group, eventNames] of this.#settings.registry.groups()) {
        this.#subscriptions.push(
          await this.transport.subscribe({ group, eventNames }, this.#runner.deliveryHandler(group)),
        );
      }
      for (const processor of this.#inboxProcessors.values()) processor.start();
      this.#cleanup.start();
      this.#stopObservingBacklog = observeBacklog(this.service, () => this.#backlog());
      this.#state = 'running';
    } catch (error) {
      this.#state = 'running';
      await this.stop().catch(() => undefined);
      throw error;
    }
  }

  /** Stops receiving, lets in-flight work finish, hands claimed records back, and disconnects. */
  stop(): Promise<void> {
    if (this.#state === 'created') {
      this.#aggregates.close();
      this.#state = 'stopped';
      return Promise.resolve();
    }
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#state = 'stopping';
    this.#aggregates.close();
    this.#stopObservingBacklog?.();
    const subscriptions = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.allSettled(subscriptions.map((subscription) => subscription.close()));
    await this.#runner.stop();
    await Promise.allSettled([...this.#inboxProcessors.values()].map((processor) => processor.stop()));
    await Promise.allSettled(this.#allRelays().map((relay) => relay.stop()));
    await this.#cleanup.stop();
    await this.transport
      .stop()
      .catch((error) => this.#settings.logger.warn('Transport stop failed', { error }));
    this.#state = 'stopped';
  }

  /**
   * Waits until this bus has nothing left to do: the outboxes have no due
   * record, nothing is in flight, no inbox retry is due and (with the
   * in-process transport) no delivery is queued. Records scheduled for a later
   * retry do not count. Rejects after `timeoutMs`.
   */
  async drain(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#state !== 'running')
      throw new BusStateError(`drain() needs a running bus (state: ${this.#state})`);
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let quietRounds = 0;
    const loops = [...this.#allRelays(), ...this.#inboxProcessors.values()];
    while (quietRounds < 2) {
      if (Date.now() > deadline)
        throw new BusStateError(`The bus did not become idle within ${options.timeoutMs ?? 10_000} ms`);
      const remaining = Math.max(1, deadline - Date.now());
      // Quiet means no pass found work during the round (a processor's state after it can flip).
      const workedBefore = loops.map((loop) => loop.workedPasses);
      const waitAll = Promise.all([
        ...this.#allRelays().map((relay) => relay.whenIdle()),
        ...[...this.#inboxProcessors.values()].map((processor) => processor.whenIdle()),
        this.#runner.whenIdle(),
        this.transport.whenIdle?.() ?? Promise.resolve(),
      ]);
      const finished = await Promise.race([waitAll.then(() => true), sleep(remaining).then(() => false)]);
      if (!finished) continue;
      const quiet =
        this.#runner.inFlight === 0 &&
        this.#allRelays().every((relay) => relay.idle) &&
        loops.every((loop, index) => loop.workedPasses === workedBefore[index]);
      quietRounds = quiet ? quietRounds + 1 : 0;
    }
  }

  /**
   * Health for liveness/readiness probes: bus state, broker connectivity,
   * relay lag (age of the oldest unpublished outbox record) and which locks
   * this replica holds. `ready` is false while stopped, disconnected, while the
   * inbox store is out (deliveries wait for it), or when the relay lags more
   * than `maxRelayLagMs` (default 60 s).
   */
  async health(options: { maxRelayLagMs?: number } = {}): Promise<BusHealth> {
    const maxLag = options.maxRelayLagMs ?? 60_000;
    const transport = this.transport.health
      ? await this.transport
          .health()
          .then((health) =>
            health.detail === undefined ? health : { ...health, detail: safeDetail(health.detail) },
          )
          .catch((error: unknown) => ({ connected: false, detail: safeDetail(describeError(error)) }))
      : { connected: this.#state === 'running' };
    // A store that cannot be read is not ready, whatever the relay and transport say.
    let eventLog: BusHealth['eventLog'] = { reachable: true };
    const backlog = await this.#backlog().catch((error: unknown) => {
      eventLog = { reachable: false, detail: safeDetail(describeError(error)) };
      return undefined;
    });
    const relays = this.#allRelays().map((relay) => ({ name: relay.name, holdsLock: relay.holdsLease }));
    const lagOk = !backlog || backlog.oldestAgeSeconds * 1000 <= maxLag;
    const live = this.#state === 'running' || this.#state === 'starting';
    const outage = this.#runner.storeOutage;
    const reasons: string[] = [];
    if (this.#state !== 'running') reasons.push(`bus is ${this.#state}`);
    if (!transport.connected)
      reasons.push(
        `transport ${this.transport.name} is not connected${transport.detail ? `: ${transport.detail}` : ''}`,
      );
    if (!eventLog.reachable) reasons.push(`event log cannot be read: ${eventLog.detail}`);
    if (outage)
      reasons.push(
        `inbox store unavailable since ${outage.since.toISOString()}: ${safeDetail(outage.reason)}`,
      );
    if (!lagOk)
      reasons.push(
        `outbox relay lags: oldest pending record is ${Math.round(backlog?.oldestAgeSeconds ?? 0)} s old`,
      );
    return {
      state: this.#state,
      live,
      ready: reasons.length === 0,
      transport: { name: this.transport.name, ...transport },
      outbox: backlog
        ? { pending: backlog.pending, oldestAgeSeconds: backlog.oldestAgeSeconds, lagging: !lagOk }
        : undefined,
      relays,
      eventLog,
      inbox: outage
        ? { available: false, since: outage.since, reason: safeDetail(outage.reason) }
        : { available: true },
      reasons,
    };
  }

  /** Runs one cleanup pass now (also runs every `cleaningExpireInterval`). */
  cleanupNow(now?: Date): Promise<number> {
    return this.#cleanup.runOnce(now);
  }

  /**
   * Sum of the outboxes' backlogs (those whose store can tell); reads one
   * record of every other outbox and every inbox, so an unreadable store throws.
   */
  async #backlog(): Promise<{ pending: number; oldestAgeSeconds: number }> {
    let pending = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const config of this.eventLogs) {
      if (config.inbox) await config.inbox.list({ limit: 1 });
      if (config.outbox && !config.outbox.backlog) await config.outbox.list({ limit: 1 });
      const backlog = await config.outbox?.backlog?.();
      if (!backlog) continue;
      pending += backlog.pending;
      if (backlog.oldestCreatedAt) oldest = Math.min(oldest, backlog.oldestCreatedAt.getTime());
    }
    return { pending, oldestAgeSeconds: Number.isFinite(oldest) ? (Date.now() - oldest) / 1000 : 0 };
  }

  #allRelays(): OutboxRelay[] {
    return [...this.#relays.values()].flat();
  }

  /** One relay per outbox, or one per shard (each under its own lease) with `relayShards` > 1. */
  #createRelays(config: EventLogConfig): OutboxRelay[] {
    const count = this.options.relayShards;
    const relays: OutboxRelay[] = [];
    const held = () => relays.filter((relay) => relay.holdsLease).length;
    this.#brokerOutage ??= brokerOutage(this.#settings.logger, this.#settings.monitor, this.transport.name);
    for (let index = 0; index < count; index++) {
      const shard = count > 1 ? { index, count } : undefined;
      relays.push(
        new OutboxRelay({
          config,
          transport: this.transport,
          options: this.options,
          monitor: this.#settings.monitor,
          logger: this.#settings.logger,
          owner: this.instanceId,
          brokerOutage: this.#brokerOutage,
          ...(this.#settings.lock ? { lease: this.#leaseKeeper('outbox', config, shard) } : {}),
          ...(shard ? { shard, shardLoad: held } : {}),
        }),
      );
    }
    return relays;
  }

  /** The inboxes whose selectors accept the handler, in registration order. */
  #inboxCandidates(handlerName: string): EventLogConfig[] {
    const handler = this.#settings.registry.handler(handlerName);
    if (!handler) return [];
    return this.eventLogs.filter(
      (candidate) =>
        candidate.inbox &&
        candidate.handlerSelector(handler) &&
        handler.events.every((event) => candidate.inboxEventSelector(event)),
    );
  }

  /** The inbox of a handler for an event of `tenantId` (its own database, with tenant logs). */
  #inboxFor(handlerName: string, tenantId?: string): EventLogConfig {
    const config = routeByTenant(this.#inboxCandidates(handlerName), tenantId);
    if (!config) {
      throw new ConfigurationError(
        `No inbox accepts handler "${handlerName}"${tenantId === undefined ? '' : ` for tenant "${tenantId}"`}`,
      );
    }
    return config;
  }

  #leaseKeeper(
    kind: 'outbox' | 'inbox',
    config: EventLogConfig,
    shard?: { index: number; count: number },
  ): LeaseKeeper {
    const store = kind === 'outbox' ? config.outbox! : config.inbox!;
    const suffix = shard ? `:shard-${shard.index}-of-${shard.count}` : '';
    return new LeaseKeeper({
      lock: this.#settings.lock!,
      key: `herald:${kind}:${store.databaseName}:${config.name}${suffix}`,
      ttlMs: this.options.distributedLockTtl,
      waitMs: this.options.distributedLockWaitDuration,
      logger: this.#settings.logger,
    });
  }

  async #dispatchInline(events: readonly PreparedEvent[], tx: unknown): Promise<void> {
    for (const event of events) {
      const received = fromWire(event.message.headers, event.message.body, this.#settings.serializer);
      await this.#runner.dispatchInline(received, tx);
    }
  }
}
