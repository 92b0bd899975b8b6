import { IntegrationEventBus } from './bus.js';
import { type EventCatalog, eventCatalog } from './catalog.js';
import type { ConsumeFilter, PublishFilter } from './context/filters.js';
import { ConverterRegistry, type DomainEventConverter } from './converters.js';
import { ConfigurationError } from './errors.js';
import type { EventType } from './event.js';
import type { EventLog, EventLogConfig, EventLogOptions } from './event-log.js';
import { type Handler, type HandlerOptions, HandlerRegistry } from './handlers.js';
import { InProcessTransport } from './memory/in-process-transport.js';
import { MemoryDatabase } from './memory/memory-database.js';
import { MemoryInboxStore } from './memory/memory-inbox-store.js';
import { MemoryOutboxStore } from './memory/memory-outbox-store.js';
import { type BusEventListener, type BusEventName, Monitor } from './monitoring.js';
import { defaultOptions, type HeraldOptions, validateOptions } from './options.js';
import type { DistributedLock } from './ports/lock.js';
import { consoleLogger, type Logger } from './ports/logger.js';
import type { Transport } from './ports/transport.js';
import type { UnitOfWorkAccessor } from './ports/unit-of-work.js';
import { redactingLogger } from './redact.js';
import { JsonSerializer, type Serializer } from './serializer.js';

/**
 * A plugin configures a builder in one call: the single extension mechanism
 * for packages that need more than one port (`builder.use(plugin)`).
 */
export interface HeraldPlugin {
  /** Unique name: a builder installs a plugin of a given name once (a second `use` throws). */
  readonly name: string;
  /** Configures the builder (adds adapters, filters, listeners); called once by `builder.use(plugin)`. */
  install(builder: IntegrationEventBusBuilder): void;
}

/** Settings of {@link createIntegrationEventBus}. */
export interface CreateBusSettings {
  /** This service's name: the event source and the default consumer group. */
  service: string;
  /** Where the bus logs (also settable with `useLogger`). Default: core's console logger (warnings and errors). */
  logger?: Logger;
}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Chained configuration of a bus. Adapters are values passed to `useX()`
 * (`useTransport(rabbitMqTransport({...}))`, `useEventLog(prismaEventLog(prisma))`):
 * nothing is patched onto the builder.
 */
export class IntegrationEventBusBuilder {
  /** This service's name, as given to {@link createIntegrationEventBus}. */
  readonly service: string;
  #logger: Logger;
  #transport: Transport | undefined;
  #lock: DistributedLock | undefined;
  #unitOfWork: UnitOfWorkAccessor | undefined;
  #serializer: Serializer | undefined;
  #options: HeraldOptions = defaultOptions();
  readonly #eventLogs: Array<{ log: EventLog; options: EventLogOptions }> = [];
  readonly #registry: HandlerRegistry;
  readonly #converters = new ConverterRegistry();
  readonly #publishFilters: PublishFilter[] = [];
  readonly #consumeFilters: ConsumeFilter[] = [];
  readonly #listeners: Array<[BusEventName, BusEventListener<any>]> = [];
  readonly #plugins = new Set<string>();
  #built = false;

  constructor(settings: CreateBusSettings) {
    if (!settings || typeof settings.service !== 'string' || !SERVICE_NAME.test(settings.service)) {
      throw new ConfigurationError(
        'createIntegrationEventBus({ service }) needs a service name of letters, digits, ".", "_" or "-"',
      );
    }
    this.service = settings.service;
    this.#logger = settings.logger ?? consoleLogger();
    this.#registry = new HandlerRegistry(settings.service);
  }

  /** Uses a message broker. Default: the in-process transport. */
  useTransport(transport: Transport): this {
    if (this.#transport) throw new ConfigurationError('A transport is already configured');
    if (!transport || typeof transport.publish !== 'function' || typeof transport.subscribe !== 'function') {
      throw new ConfigurationError('useTransport() expects a Transport (publish, subscribe, start, stop)');
    }
    this.#transport = transport;
    return this;
  }

  /**
   * Adds an outbox and/or inbox (MASA's `UseEventLog`, ABP's outbox/inbox
   * configurations). Call it again with a `name` and `selector` for more
   * databases. Default: an in-memory event log.
   */
  useEventLog(log: EventLog, options: EventLogOptions = {}): this {
    if (!log || (!log.outbox && !log.inbox))
      throw new ConfigurationError('useEventLog() expects { outbox?, inbox? }');
    const name = options.name ?? 'Default';
    if (this.#eventLogs.some((entry) => (entry.options.name ?? 'Default') === name)) {
      throw new ConfigurationError(`An event log named "${name}" is already configured`);
    }
    this.#eventLogs.push({ log, options });
    return this;
  }

  /** Coordinates relays and inbox processors across replicas with a distributed lock. */
  useLock(lock: DistributedLock): this {
    if (!lock || typeof lock.acquire !== 'function')
      throw new ConfigurationError('useLock() expects a DistributedLock');
    this.#lock = lock;
    return this;
  }

  /** Publishes into the ambient unit of work (see `@herald/uow`). */
  useUnitOfWork(accessor: UnitOfWorkAccessor): this {
    if (!accessor || typeof accessor.current !== 'function') {
      throw new ConfigurationError('useUnitOfWork() expects an accessor with current()');
    }
    this.#unitOfWork = accessor;
    return this;
  }

  /** Encodes payloads with this serializer. Default: JSON, bounded by `maxPayloadBytes`. */
  useSerializer(serializer: Serializer): this {
    this.#serializer = serializer;
    return this;
  }

  /** Logs here (wrapped so credentials never reach it). Default: the `logger` setting, else core's console logger. */
  useLogger(logger: Logger): this {
    this.#logger = logger;
    return this;
  }

  /** Applies a plugin once. */
  use(plugin: HeraldPlugin): this {
    if (!plugin || typeof plugin.install !== 'function')
      throw new ConfigurationError('use() expects a plugin with install()');
    if (this.#plugins.has(plugin.name))
      throw new ConfigurationError(`Plugin "${plugin.name}" is already installed`);
    this.#plugins.add(plugin.name);
    plugin.install(this);
    return this;
  }

  /** Sets options (MASA's table, camelCased, in milliseconds): a partial object or a mutating callback. */
  configure(options: Partial<HeraldOptions> | ((options: HeraldOptions) => void)): this {
    if (typeof options === 'function') options(this.#options);
    else Object.assign(this.#options, options);
    return this;
  }

  /**
   * Registers a handler for one event type or several. A handler is a function
   * `(event, context) => …` or an object with `handle(event, context)`.
   */
  handle<T>(
    events: EventType<T> | readonly EventType<T>[],
    handler: Handler<T>,
    options?: HandlerOptions,
  ): this {
    this.#registry.register(events, handler, options);
    return this;
  }

  /**
   * Declares the events this service publishes, so its catalog and contract
   * (`@herald/contracts`) list them before the first publish. Publishing an
   * undeclared event still works.
   */
  publishes(...events: EventType[]): this {
    for (const type of events) this.#registry.registerEvent(type);
    return this;
  }

  /** The events configured so far: published, handled, by which handlers (see {@link EventCatalog}). */
  catalog(): EventCatalog {
    return eventCatalog(this.service, this.#registry, this.#transport);
  }

  /** Registers a domain → integration event converter (used by `bus.publishDomainEvents`). */
  convert<D extends object>(
    domainEvent: new (...args: any[]) => D,
    converter: DomainEventConverter<D>,
  ): this {
    this.#converters.register(domainEvent, converter);
    return this;
  }

  /**
   * Adds a publish filter: runs for every published event, in registration
   * order, and may add headers or set the tenant and correlation id.
   */
  publishFilter(filter: PublishFilter): this {
    if (typeof filter !== 'function') throw new ConfigurationError('publishFilter() expects a function');
    this.#publishFilters.push(filter);
    return this;
  }

  /**
   * Adds a consume filter around every handler call (middleware: call
   * `next()`); the first registered is the outermost. Its errors follow the
   * handler's retry path.
   */
  consumeFilter(filter: ConsumeFilter): this {
    if (typeof filter !== 'function') throw new ConfigurationError('consumeFilter() expects a function');
    this.#consumeFilters.push(filter);
    return this;
  }

  /** Registers a monitoring listener before the bus exists. */
  on<K extends BusEventName>(name: K, listener: BusEventListener<K>): this {
    this.#listeners.push([name, listener]);
    return this;
  }

  /** Validates everything and creates the bus. */
  build(): IntegrationEventBus {
    if (this.#built) throw new ConfigurationError('build() was already called on this builder');
    this.#built = true;
    const options = validateOptions(this.#options);
    const serializer = this.#serializer ?? new JsonSerializer({ maxPayloadBytes: options.maxPayloadBytes });
    const transport = this.#transport ?? new InProcessTransport();
    const explicitLogs = this.#eventLogs.length > 0;
    const eventLogs = this.#resolveEventLogs();
    // Whatever a store or transport error carries, connection-string credentials do not reach the logs.
    const logger = redactingLogger(this.#logger);
    const monitor = new Monitor(logger);
    for (const [name, listener] of this.#listeners) monitor.on(name, listener);
    return new IntegrationEventBus({
      service: this.service,
      options,
      transport,
      eventLogs,
      lock: this.#lock,
      unitOfWork: this.#unitOfWork,
      serializer,
      logger,
      registry: this.#registry,
      converters: this.#converters,
      publishFilters: [...this.#publishFilters],
      consumeFilters: [...this.#consumeFilters],
      monitor,
      inlineInUnitOfWork: transport instanceof InProcessTransport && !explicitLogs,
    });
  }

  #resolveEventLogs(): EventLogConfig[] {
    const configs: EventLogConfig[] = this.#eventLogs.map(({ log, options }) => ({
      name: options.name ?? 'Default',
      outbox: log.outbox,
      inbox: log.inbox,
      selector: options.selector ?? (() => true),
      handlerSelector: options.handlerSelector ?? (() => true),
      inboxEventSelector: options.inboxEventSelector ?? (() => true),
      sending: options.sending ?? true,
      processing: options.processing ?? true,
      tenants: tenantSet(options.tenants),
    }));
    const needsOutbox = !configs.some((config) => config.outbox);
    const needsInbox = this.#registry.size > 0 && !configs.some((config) => config.inbox);
    if (needsOutbox || needsInbox) {
      if (configs.length > 0 && needsInbox) {
        this.#logger.warn(
          'No inbox is configured; using an in-memory inbox (duplicates are absorbed only while this process lives)',
        );
      }
      const database = new MemoryDatabase(`memory:${this.service}`);
      configs.push({
        name: configs.length === 0 ? 'Default' : 'Embedded',
        outbox: needsOutbox ? new MemoryOutboxStore({ database }) : undefined,
        inbox: needsInbox || configs.length === 0 ? new MemoryInboxStore({ database }) : undefined,
        selector: () => true,
        handlerSelector: () => true,
        inboxEventSelector: () => true,
        sending: true,
        processing: true,
        tenants: undefined,
      });
    }
    return configs;
  }
}

function tenantSet(tenants: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (tenants === undefined) return undefined;
  if (
    !Array.isArray(tenants) ||
    tenants.length === 0 ||
    tenants.some((t) => typeof t !== 'string' || t === '')
  ) {
    throw new ConfigurationError('useEventLog({ tenants }) expects a non-empty list of tenant ids');
  }
  return new Set(tenants);
}

/**
 * Starts the configuration of an integration event bus.
 *
 * ```ts
 * const bus = createIntegrationEventBus({ service: 'ordering' })
 *   .useTransport(rabbitMqTransport({ url }))
 *   .useEventLog(prismaEventLog(prisma))
 *   .handle(OrderPlaced, async (event, ctx) => { … })
 *   .build();
 * ```
 */
export function createIntegrationEventBus(settings: CreateBusSettings): IntegrationEventBusBuilder {
  return new IntegrationEventBusBuilder(settings);
}
