import {
  ConfigurationError,
  type EventType,
  eventNameOf,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  type IntegrationEventBusBuilder,
  MemoryDatabase,
  memoryEventLog,
  type Transport,
} from '@herald/core';
import { chaosEventLog } from '../chaos/chaos-event-log.js';
import { ChaosInboxStore } from '../chaos/chaos-inbox.js';
import { ChaosOutboxStore } from '../chaos/chaos-outbox.js';
import { ChaosTransport } from '../chaos/chaos-transport.js';
import { type ChaosOptions, wantsTransportChaos } from '../chaos/options.js';
import { type DrainOptions, drainAll } from './drain.js';
import { applyHarnessOptions, type TestHarnessOptions } from './options.js';
import { HarnessRecorder } from './recorder.js';
import type {
  AbsorbedDuplicate,
  BusError,
  ConsumedMessage,
  DeadLetteredMessage,
  FailedAttempt,
  PublishedMessage,
} from './records.js';

/** Name of the in-memory event log the harness adds to every builder. */
export const HARNESS_EVENT_LOG = 'testkit';

/** An event class (its payload type is inferred) or an event name. */
export type EventRef<T> = EventType<T> | string;

interface Service {
  readonly bus: IntegrationEventBus;
  readonly database: MemoryDatabase;
}

function nameOf(event: EventRef<unknown>): string {
  return typeof event === 'string' ? event : eventNameOf(event);
}

function isAlreadyConfigured(error: unknown): boolean {
  return error instanceof ConfigurationError && /already configured/.test(error.message);
}

/** The in-process broker behind a transport, looking through chaos wrappers. */
function brokerOf(transport: Transport): InProcessBroker | undefined {
  const inner = transport instanceof ChaosTransport ? transport.inner : transport;
  return inner instanceof InProcessTransport ? inner.broker : undefined;
}

/**
 * One or more running buses with everything they did recorded, for users'
 * own tests. Create it with {@link createTestHarness}.
 */
export class TestHarness {
  /** Every bus, in the order the builders were given. */
  readonly buses: readonly IntegrationEventBus[];
  /** The broker the harness's in-process transports share. */
  readonly broker: InProcessBroker;
  readonly #services: readonly Service[];
  readonly #recorder: HarnessRecorder;
  readonly #brokers: readonly InProcessBroker[];
  readonly #drainTimeoutMs: number;
  #stopped: Promise<void> | undefined;

  /** @internal Use {@link createTestHarness}. */
  constructor(deps: {
    services: readonly Service[];
    recorder: HarnessRecorder;
    broker: InProcessBroker;
    drainTimeoutMs: number;
  }) {
    this.#services = deps.services;
    this.#recorder = deps.recorder;
    this.broker = deps.broker;
    this.buses = deps.services.map((service) => service.bus);
    const brokers = new Set<InProcessBroker>([deps.broker]);
    for (const bus of this.buses) {
      const broker = brokerOf(bus.transport);
      if (broker) brokers.add(broker);
    }
    this.#brokers = [...brokers];
    this.#drainTimeoutMs = deps.drainTimeoutMs;
  }

  /** The first (or only) bus. */
  get bus(): IntegrationEventBus {
    return this.buses[0]!;
  }

  /** Messages sent through a transport (recorded when the transport confirmed them). */
  get published(): readonly PublishedMessage[] {
    return this.#recorder.published;
  }

  /** Successful handlings: one per (message, handler), duplicates excluded. */
  get consumed(): readonly ConsumedMessage[] {
    return this.#recorder.consumed;
  }

  /** Messages given up on (undecodable, unknown, or out of retries), with the reason. */
  get deadLettered(): readonly DeadLetteredMessage[] {
    return this.#recorder.deadLettered;
  }

  /** Failed publish and handler attempts, including ones that were retried. */
  get failures(): readonly FailedAttempt[] {
    return this.#recorder.failures;
  }

  /** Duplicate deliveries the inbox absorbed. */
  get duplicates(): readonly AbsorbedDuplicate[] {
    return this.#recorder.duplicates;
  }

  /** Infrastructure errors reported by background loops (chaos faults appear as `ChaosError`). */
  get errors(): readonly BusError[] {
    return this.#recorder.errors;
  }

  /** The bus of a service (`builder.service`). */
  busOf(service: string): IntegrationEventBus {
    return this.#service(service).bus;
  }

  /**
   * The in-memory database of the event log the harness added to a service
   * (default: the first). Handlers that write through `ctx.tx` write here,
   * unless the builder configured an event log of its own.
   */
  database(service?: string): MemoryDatabase {
    return service === undefined ? this.#services[0]!.database : this.#service(service).database;
  }

  /** Published messages of an event, optionally filtered by payload. */
  publishedOf<T>(
    event: EventRef<T>,
    predicate?: (payload: T, message: PublishedMessage<T>) => boolean,
  ): PublishedMessage<T>[] {
    const name = nameOf(event);
    return (this.#recorder.published as PublishedMessage<T>[]).filter(
      (message) => message.eventName === name && (!predicate || predicate(message.payload, message)),
    );
  }

  /** Handlings of an event, optionally filtered by payload (and handler, service… through the record). */
  consumedOf<T>(
    event: EventRef<T>,
    predicate?: (payload: T, message: ConsumedMessage<T>) => boolean,
  ): ConsumedMessage<T>[] {
    const name = nameOf(event);
    return (this.#recorder.consumed as ConsumedMessage<T>[]).filter(
      (message) => message.eventName === name && (!predicate || predicate(message.payload, message)),
    );
  }

  /** True when a matching message was sent through a transport. Call after `drain()`. */
  wasPublished<T>(
    event: EventRef<T>,
    predicate?: (payload: T, message: PublishedMessage<T>) => boolean,
  ): boolean {
    return this.publishedOf(event, predicate).length > 0;
  }

  /** True when a handler finished a matching message. Call after `drain()`. */
  wasConsumed<T>(
    event: EventRef<T>,
    predicate?: (payload: T, message: ConsumedMessage<T>) => boolean,
  ): boolean {
    return this.consumedOf(event, predicate).length > 0;
  }

  /**
   * Waits until everything is done: each bus's `drain()` (outbox relayed,
   * deliveries handled, due inbox retries run), the shared broker idle and no
   * outbox record left pending (chaos re-sends included). Rejects after
   * `timeoutMs`.
   */
  drain(options: DrainOptions = {}): Promise<void> {
    return drainAll(this.buses, this.#brokers, {
      timeoutMs: options.timeoutMs ?? this.#drainTimeoutMs,
      includeScheduledRetries: options.includeScheduledRetries ?? false,
    });
  }

  /** Stops every bus (idempotent). */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      const results = await Promise.allSettled([...this.buses].reverse().map((bus) => bus.stop()));
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    })();
    return this.#stopped;
  }

  #service(name: string): Service {
    const service = this.#services.find((candidate) => candidate.bus.service === name);
    if (!service) throw new ConfigurationError(`The harness has no service "${name}"`);
    return service;
  }
}

/** Adds the harness's transport, event log and listeners to one builder. */
function prepare(
  builder: IntegrationEventBusBuilder,
  broker: InProcessBroker,
  recorder: HarnessRecorder,
  options: TestHarnessOptions,
): { database: MemoryDatabase } {
  const chaos: ChaosOptions = options.chaos ?? {};
  applyHarnessOptions(builder, options.options);
  if (options.logger) builder.useLogger(options.logger);
  const inProcess = new InProcessTransport({ broker });
  try {
    builder.useTransport(wantsTransportChaos(chaos) ? new ChaosTransport(inProcess, chaos) : inProcess);
  } catch (error) {
    if (!isAlreadyConfigured(error)) throw error;
  }
  const log = memoryEventLog({ database: new MemoryDatabase(`testkit:${builder.service}`) });
  builder.useEventLog(chaosEventLog(log, chaos), { name: HARNESS_EVENT_LOG });
  recorder.attach(builder);
  return { database: log.database };
}

/** Refuses chaos options that cannot reach a user-supplied transport or store. */
function checkChaosReach(bus: IntegrationEventBus, chaos: ChaosOptions | undefined): void {
  if (wantsTransportChaos(chaos) && !(bus.transport instanceof ChaosTransport)) {
    throw new ConfigurationError(
      `Service "${bus.service}" configured its own transport, so the harness cannot inject delivery chaos: ` +
        'wrap it yourself with useTransport(chaosTransport(yourTransport, chaos)), or let the harness supply the transport.',
    );
  }
  for (const config of bus.eventLogs) {
    if (config.name === HARNESS_EVENT_LOG) continue;
    if (chaos?.crashBetweenPublishAndMark && config.outbox && !(config.outbox instanceof ChaosOutboxStore)) {
      throw new ConfigurationError(
        `Event log "${config.name}" of "${bus.service}" is your own, so the harness cannot inject outbox chaos: ` +
          'wrap it with useEventLog(chaosEventLog(yourLog, chaos)).',
      );
    }
    if (chaos?.crashAfterHandler && config.inbox && !(config.inbox instanceof ChaosInboxStore)) {
      throw new ConfigurationError(
        `Event log "${config.name}" of "${bus.service}" is your own, so the harness cannot inject inbox chaos: ` +
          'wrap it with useEventLog(chaosEventLog(yourLog, chaos)).',
      );
    }
  }
}

/**
 * Builds and starts one bus per builder, all connected through one
 * in-process broker, with everything they publish, consume, retry and
 * dead-letter recorded — outbox and inbox on, like production.
 *
 * For each builder the harness: applies short test intervals to options left
 * at core's defaults (then `options.options`); supplies an in-process
 * transport on the shared broker unless the builder already has a transport;
 * adds an in-memory event log named `testkit` (used unless the builder has
 * its own); and registers recording listeners. With `chaos`, the transport
 * and stores it supplies are wrapped with the requested faults.
 *
 * ```ts
 * const harness = await createTestHarness([ordering, billing], { chaos: { crashAfterHandler: true } });
 * await harness.bus.publish(new OrderPlaced({ orderId: '42' }));
 * await harness.drain();
 * expect(harness.wasConsumed(OrderPlaced, (order) => order.orderId === '42')).toBe(true);
 * await harness.stop();
 * ```
 */
export async function createTestHarness(
  builders: IntegrationEventBusBuilder | readonly IntegrationEventBusBuilder[],
  options: TestHarnessOptions = {},
): Promise<TestHarness> {
  const list = Array.isArray(builders) ? builders : [builders as IntegrationEventBusBuilder];
  if (list.length === 0) throw new ConfigurationError('createTestHarness() needs at least one builder');
  const broker = options.broker ?? new InProcessBroker();
  const recorder = new HarnessRecorder(options.serializer);
  const services: Service[] = list.map((builder) => {
    const { database } = prepare(builder, broker, recorder, options);
    return { bus: builder.build(), database };
  });
  for (const service of services) checkChaosReach(service.bus, options.chaos);
  const started: IntegrationEventBus[] = [];
  try {
    for (const service of services) {
      await service.bus.start();
      started.push(service.bus);
    }
  } catch (error) {
    await Promise.allSettled(started.map((bus) => bus.stop()));
    throw error;
  }
  return new TestHarness({ services, recorder, broker, drainTimeoutMs: options.drainTimeoutMs ?? 10_000 });
}
