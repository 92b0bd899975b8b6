import {
  consoleLogger,
  createIntegrationEventBus,
  type DistributedLock,
  type HeraldOptions,
  type IntegrationEventBus,
  type Logger,
  silentLogger,
  type Transport,
  type UnitOfWorkAccessor,
} from '@herald/core';
import { sleep } from '../internal/wait.js';
import type { BusPair, ScenarioStore } from './pair.js';
import {
  type ScenarioScope,
  STEP_HANDLER,
  type StepPayload,
  scenarioService,
  stepEvent,
} from './scenario-events.js';

/** How one replica (bus) of a scenario is set up; plain data, so a child process can receive it. */
export interface ReplicaRole {
  /** Names the replica in effects and reports. */
  readonly replica: string;
  /** Runs the outbox relay (ABP's IsSendingEnabled). Default true. */
  readonly relay?: boolean;
  /** Registers the scenario handler (subscribes). Default true. */
  readonly consume?: boolean;
  /** Uses the pair's distributed lock (relay and inbox retry processor). Default false. */
  readonly lock?: boolean;
  /** SIGKILLs the process right after this many `transport.publish` calls were confirmed (before the relay marks them). */
  readonly killAfterSends?: number;
  /** SIGKILLs the process right after core decided `ack` this many times (before the transport acknowledges). */
  readonly killAfterAcks?: number;
  /** Overrides of the scenario's fast bus options. */
  readonly options?: Partial<HeraldOptions>;
}

/** One handler run of the scenario handler, as the replica saw it. */
export interface HandlerRun {
  /** The handled message's id (the envelope's `id`). */
  readonly eventId: string;
  /** The step's ordering key. */
  readonly key: string;
  /** The step's position within its key, from 0. */
  readonly seq: number;
  /** The handler attempt (`ctx.attempt`, from 1). */
  readonly attempt: number;
  /** The replica (bus) that ran the handler ({@link ReplicaRole.replica}). */
  readonly replica: string;
  /** The handler threw (on purpose). */
  readonly failed: boolean;
  /** The event was an instance of its class, with its class's prototype, and no inherited foreign field. */
  readonly clean: boolean;
}

/** What a replica reports (in the test process directly, from a child over IPC). */
export type ReplicaReport =
  | {
      /** The scenario handler ran (successfully or not). */
      readonly type: 'run';
      /** What the run did. */
      readonly run: HandlerRun;
    }
  | {
      /** The inbox absorbed a duplicate delivery. */
      readonly type: 'duplicate';
      /** The duplicate's message id. */
      readonly messageId: string;
    }
  | {
      /** The bus gave up on a message (its `dead-lettered` event). */
      readonly type: 'dead-lettered';
      /** Where it gave up: `publish`, `receive` or `handle`. */
      readonly stage: string;
      /** Why it gave up, as stored with the dead letter. */
      readonly reason: string;
      /** The message id; absent when an unreadable delivery did not say. */
      readonly messageId?: string;
      /** The event's name; absent when an unreadable delivery did not say. */
      readonly eventName?: string;
    }
  | {
      /** The relay sent an outbox record (confirmed by the broker). */
      readonly type: 'sent';
      /** The sent message's id. */
      readonly messageId: string;
    }
  | {
      /** A child replica could not start or stop. */
      readonly type: 'error';
      /** What failed, with the thrown error as text. */
      readonly message: string;
    };

/** Bus options that make retries, leases and polling fast enough for a bounded test. */
export const SCENARIO_BUS_OPTIONS: Partial<HeraldOptions> = {
  pollingInterval: 200,
  localRetryTimes: 1,
  localFailedRetryInterval: 50,
  failedRetryInterval: 200,
  maxRetryTimes: 2,
  minimumRetryInterval: 2_000,
  handlerTimeout: 10_000,
  distributedLockWaitDuration: 200,
  distributedLockTtl: 3_000,
};

/** Thrown by the scenario handler on purpose. */
export class ScenarioHandlerFailure extends Error {
  constructor(reason: string) {
    super(`scenario: ${reason}`);
    this.name = 'ScenarioHandlerFailure';
  }
}

/** Thrown inside a scenario transaction to roll it back. */
export class ScenarioRollback extends Error {
  constructor() {
    super('scenario: deliberate rollback');
    this.name = 'ScenarioRollback';
  }
}

/** Wraps `transport` so the process dies where a role asks it to (a crash at the worst moment). */
function crashing(transport: Transport, role: ReplicaRole): Transport {
  const { killAfterSends, killAfterAcks } = role;
  if (killAfterSends !== undefined) {
    let sends = 0;
    const publish = transport.publish.bind(transport);
    transport.publish = async (messages) => {
      const outcomes = await publish(messages);
      // Confirmed by the broker, not yet marked published: the relay dies here.
      if (++sends >= killAfterSends) process.kill(process.pid, 'SIGKILL');
      return outcomes;
    };
  }
  if (killAfterAcks !== undefined) {
    let acks = 0;
    const subscribe = transport.subscribe.bind(transport);
    transport.subscribe = (subscription, handler) =>
      subscribe(subscription, async (message) => {
        const disposition = await handler(message);
        // The inbox entry is committed, the broker acknowledgement never leaves.
        if (disposition.kind === 'ack' && ++acks >= killAfterAcks) process.kill(process.pid, 'SIGKILL');
        return disposition;
      });
  }
  return transport;
}

/** Everything a replica needs to build its bus. */
export interface ReplicaSetup {
  readonly pair: BusPair;
  readonly settings: Record<string, string>;
  readonly scope: ScenarioScope;
  readonly role: ReplicaRole;
  readonly report: (report: ReplicaReport) => void;
  /** Shared by the replicas of one process when the role asks for a lock. */
  readonly lock?: DistributedLock;
  /** Makes the unit of work the bus joins (given the replica's store). */
  readonly unitOfWork?: (store: ScenarioStore) => UnitOfWorkAccessor;
  readonly logger?: Logger;
}

/**
 * One bus of a scenario: the pair's store and transport, the scenario
 * handler (which writes its effect through `ctx.tx`), and reports of what
 * happened. The same code runs in the test process and in child processes.
 */
export class ScenarioReplica {
  readonly bus: IntegrationEventBus;
  readonly store: ScenarioStore;
  readonly role: ReplicaRole;
  readonly #scope: ScenarioScope;
  /** Set by the operator in the poison scenario: `until-fixed` steps stop failing. */
  fixed = false;

  private constructor(
    bus: IntegrationEventBus,
    store: ScenarioStore,
    role: ReplicaRole,
    scope: ScenarioScope,
  ) {
    this.bus = bus;
    this.store = store;
    this.role = role;
    this.#scope = scope;
  }

  /** Builds (does not start) a replica. */
  static async create(setup: ReplicaSetup): Promise<ScenarioReplica> {
    const { pair, settings, scope, role, report } = setup;
    const store = await pair.createStore(settings);
    const transport = crashing(await pair.createTransport(settings, role.replica), role);
    const Step = stepEvent(scope);
    let builder = createIntegrationEventBus({
      service: scenarioService(scope),
      // HERALD_SCENARIO_LOG=debug|info|warn|error: replicas log to stderr, to see why a scenario failed.
      logger:
        setup.logger ??
        (process.env.HERALD_SCENARIO_LOG
          ? consoleLogger(process.env.HERALD_SCENARIO_LOG as Parameters<typeof consoleLogger>[0])
          : silentLogger),
    })
      .useTransport(transport)
      .useEventLog(store.eventLog, { sending: role.relay ?? true })
      .configure({ ...SCENARIO_BUS_OPTIONS, ...role.options });
    if (role.lock) {
      if (!setup.lock) throw new Error('scenario: the role asks for a lock, but none was given');
      builder = builder.useLock(setup.lock);
    }
    if (setup.unitOfWork) builder = builder.useUnitOfWork(setup.unitOfWork(store));
    let replica: ScenarioReplica | undefined;
    if (role.consume ?? true) {
      builder = builder.handle(
        Step,
        async (event, ctx) => {
          const clean =
            event instanceof Step &&
            Object.getPrototypeOf(event) === Step.prototype &&
            !('isAdmin' in event) &&
            !('isAdmin' in {});
          if (event.delayMs) await sleep(event.delayMs);
          const effect = {
            eventId: ctx.envelope.id,
            key: String(event.key),
            seq: Number(event.seq),
            replica: role.replica,
            attempt: ctx.attempt,
          };
          await store.recordEffect(ctx.tx, effect);
          const fails =
            (event.fail === 'first-attempt' && ctx.attempt === 1) ||
            (event.fail === 'until-fixed' && !replica?.fixed);
          report({ type: 'run', run: { ...effect, failed: fails, clean } });
          if (fails) throw new ScenarioHandlerFailure(`${event.fail} step ${effect.key}#${effect.seq}`);
        },
        { name: STEP_HANDLER },
      );
    }
    const bus = builder.build();
    bus.on('duplicate', (event) => report({ type: 'duplicate', messageId: event.messageId }));
    bus.on('dead-lettered', (event) =>
      report({
        type: 'dead-lettered',
        stage: event.stage,
        reason: event.reason,
        ...(event.messageId !== undefined ? { messageId: event.messageId } : {}),
        ...(event.eventName !== undefined ? { eventName: event.eventName } : {}),
      }),
    );
    bus.on('sent', (event) => {
      if (event.source === 'outbox') report({ type: 'sent', messageId: event.messageId });
    });
    replica = new ScenarioReplica(bus, store, role, scope);
    return replica;
  }

  /** Publishes each step in its own transaction of the store (ordering key = the step's key). */
  async publish(steps: readonly StepPayload[], options: { rollback?: boolean } = {}): Promise<void> {
    const Step = stepEvent(this.#scope);
    for (const step of steps) {
      try {
        await this.store.transaction(async (tx) => {
          await this.bus.publish(new Step(step), { tx, orderingKey: step.key });
          if (options.rollback) throw new ScenarioRollback();
        });
      } catch (error) {
        if (!(error instanceof ScenarioRollback)) throw error;
      }
    }
  }

  /** Stops the bus and closes the store. */
  async stop(): Promise<void> {
    try {
      await this.bus.stop();
    } finally {
      await this.store.close();
    }
  }
}
