import type { DistributedLock, EventLog, Transport } from '@herald/core';

/**
 * What a store × transport pair can do, declared by the pair (Watermill's
 * `Features{…}`). A scenario that needs a missing feature is reported as
 * skipped with the reason, never as passed.
 */
export interface BusFeatures {
  /**
   * The store and the broker outlive a process, and the pair module can be
   * imported by a child process (`modulePath` given): enables the scenarios
   * that SIGKILL a relay or a consumer.
   */
  readonly crashes: boolean;
  /** The test may restart the broker (`BusPair.restartBroker` given) within the suite's bounds. */
  readonly brokerRestart: boolean;
  /** The transport delivers a key's messages in publish order (core then keeps that order); without it the per-key order scenario is skipped. */
  readonly orderedByKey: boolean;
  /** `publish(event, { tx })` commits with the caller's transaction (false: MongoDB without transactions). */
  readonly transactionalOutbox: boolean;
  /** Handler writes through `ctx.tx` commit with the inbox entry (false: MongoDB without transactions). */
  readonly transactionalInbox: boolean;
}

/** One effect a scenario handler wrote through `ctx.tx`: the proof of "exactly once". */
export interface ScenarioEffect {
  /** The handled message's id (the envelope's `id`). */
  readonly eventId: string;
  /** The step's ordering key (every key starts with the case's id). */
  readonly key: string;
  /** The step's position within its key, from 0. */
  readonly seq: number;
  /** The replica (bus) that ran the handler. */
  readonly replica: string;
  /** The handler attempt that wrote it (`ctx.attempt`, from 1). */
  readonly attempt: number;
}

/** The database side of a pair, as one bus (replica) sees it. */
export interface ScenarioStore {
  /** The event log handed to `useEventLog`. */
  readonly eventLog: EventLog;
  /** Runs business code in a transaction of the store's database (the `tx` given to `publish`). */
  transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T>;
  /** Writes one effect row through `tx` (the handler's `ctx.tx`). */
  recordEffect(tx: unknown, effect: ScenarioEffect): Promise<void>;
  /** Every committed effect row, any order. */
  effects(): Promise<ScenarioEffect[]>;
  /** Closes what this store opened (connections); the data stays. */
  close(): Promise<void>;
}

/** A message put on a channel by a publisher that is not Herald (no guarantee about its shape). */
export interface ForeignMessage {
  /** The event name whose channel (queue binding, topic) carries the message. */
  readonly routeAs: string;
  /** Exactly the native headers to send (may lack every `herald-*` header). */
  readonly headers: Record<string, string>;
  /** Exactly the body bytes to send. */
  readonly body: Uint8Array;
}

/**
 * A store factory and a transport factory that ship together, exported as
 * the `default` of a module so that child processes can build the same bus
 * (see {@link describeBusScenarios}). Every factory receives the settings
 * `setup` returned, in the test process and in every child.
 */
export interface BusPair {
  /** Shown in the vitest `describe` title, e.g. `Prisma PostgreSQL + RabbitMQ`. */
  readonly name: string;
  /** What the pair can do; scenarios needing a missing feature are reported as skipped with the reason. */
  readonly features: BusFeatures;
  /**
   * How many times slower than the reference pairs (PostgreSQL + RabbitMQ)
   * this pair's engines run on the test machine; default 1. The suite
   * multiplies every wait's bound, and the time constants a scenario's
   * assertions rely on (the poison scenario's stored-retry interval), by it,
   * so a slow but correct engine runs every scenario instead of skipping
   * some. Declare it with the measurement that justifies it; it never hides a
   * defect, since every scenario still asserts the same outcomes.
   */
  readonly slowdown?: number;
  /**
   * Once per suite, in the test process: creates and empties databases,
   * unique exchanges or topics. Returns plain string settings (no secrets
   * needed beyond what the factories read); `runId` is unique per suite run.
   */
  setup?(runId: string): Promise<Record<string, string>>;
  /** Once after the suite, in the test process: drops what `setup` made; `services` are the consumer groups the cases used. */
  teardown?(settings: Record<string, string>, services: readonly string[]): Promise<void>;
  /** A store for one bus; called once per bus (replica), in whichever process runs it. */
  createStore(settings: Record<string, string>): Promise<ScenarioStore>;
  /** An unstarted transport for one bus; `replica` names the process (connection names, logs). */
  createTransport(settings: Record<string, string>, replica: string): Promise<Transport>;
  /**
   * Publishes `message` the way a foreign, non-Herald publisher would, with
   * the broker's own client. Default: a raw `WireMessage` through a fresh
   * transport of the pair (its `publish` sends the given headers and body as they are).
   */
  foreignPublish?(settings: Record<string, string>, message: ForeignMessage): Promise<void>;
  /** Restarts the broker and resolves when it accepts connections again (bounded). */
  restartBroker?(): Promise<void>;
  /**
   * A distributed lock shared by replicas. Default: one in-process `MemoryLock`
   * per suite, enough for replicas that run in the test process.
   */
  createLock?(settings: Record<string, string>): Promise<DistributedLock>;
}
