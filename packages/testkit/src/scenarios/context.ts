import {
  ConfigurationError,
  type DistributedLock,
  MemoryLock,
  uuidv7,
  WireHeaders,
  type WireMessage,
} from '@herald/core';
import { waitFor } from '../internal/wait.js';
import { skipCase } from '../suites/case.js';
import { ScenarioChild } from './child.js';
import type { BusFeatures, BusPair, ForeignMessage, ScenarioEffect, ScenarioStore } from './pair.js';
import { type HandlerRun, type ReplicaReport, type ReplicaRole, ScenarioReplica } from './replica.js';
import type { ScenarioScope } from './scenario-events.js';
import { ScenarioUnitOfWork } from './unit-of-work.js';

/** A replica running in the test process, with everything it reported. */
export interface LocalReplica {
  /** @internal The replica's bus and its handler runs: the suite's own machinery. */
  readonly replica: ScenarioReplica;
  /** What the replica reported so far (handler runs, dead letters, relay stages). */
  readonly reports: ReplicaReport[];
  /** @internal Present when the replica was created with `unitOfWork: true`. */
  readonly unitOfWork: ScenarioUnitOfWork | undefined;
}

/** Counts of outbox and inbox records per status, for a timeout's message (never throws). */
async function storeSummary(store: ScenarioStore): Promise<string> {
  const count = (records: ReadonlyArray<{ status: string }>) => {
    const counts: Record<string, number> = {};
    for (const record of records) counts[record.status] = (counts[record.status] ?? 0) + 1;
    return JSON.stringify(counts);
  };
  try {
    const outbox = (await store.eventLog.outbox?.list({ limit: 10_000 })) ?? [];
    const inbox = (await store.eventLog.inbox?.list({ limit: 10_000 })) ?? [];
    const dead = outbox.find((record) => record.status === 'dead');
    return `outbox ${count(outbox)}, inbox ${count(inbox)} (all cases of the run)${dead ? `; a dead outbox record: ${dead.lastError}` : ''}`;
  } catch (error) {
    return `store not readable: ${(error as Error).message}`;
  }
}

/** What each bus scenario receives. */
export interface BusScenarioContext {
  /** The store × transport pair under test. */
  readonly pair: BusPair;
  /** The pair's declared features (`pair.features`): a scenario skips, with the reason, what they lack. */
  readonly features: BusFeatures;
  /** What the pair's `setup` returned for this suite run (`{}` without `setup`). */
  readonly settings: Record<string, string>;
  /** The run and case ids that make this case's event name, consumer group and keys unique. */
  readonly scope: ScenarioScope;
  /** Upper bound for every wait (already multiplied by {@link slowdown}). */
  readonly timeoutMs: number;
  /** The pair's `slowdown` (1 when it declares none): scales a scenario's own time constants. */
  readonly slowdown: number;
  /** How long to watch for unwanted (re)deliveries. */
  readonly quietMs: number;
  /** A started replica in the test process; stopped after the case. */
  replica(role: ReplicaRole, extras?: { unitOfWork?: boolean }): Promise<LocalReplica>;
  /**
   * @internal A started replica in a child process; killed after the case. Skips the
   * case (with the reason) when the pair cannot crash or has no module path.
   */
  child(role: ReplicaRole): Promise<ScenarioChild>;
  /** Skips the case now when `child` would. */
  requireCrashes(): void;
  /** Publishes a raw message as a foreign publisher would (the pair's hook, or a raw `WireMessage`). */
  foreignPublish(message: ForeignMessage): Promise<void>;
  /** An ordering key private to this case. */
  key(name: string): string;
  /** Committed effects of this case. */
  effects(): Promise<ScenarioEffect[]>;
  /** Waits until `check` holds for this case's effects; `describe` (or what it returns then) names a timeout. */
  waitForEffects(
    check: (effects: ScenarioEffect[]) => boolean,
    describe: string | (() => string),
    timeoutMs?: number,
  ): Promise<void>;
}

/** Everything {@link createScenarioContext} needs. */
export interface ScenarioContextOptions {
  readonly pair: BusPair;
  readonly modulePath: string | undefined;
  readonly settings: Record<string, string>;
  readonly scope: ScenarioScope;
  readonly timeoutMs: number;
  readonly quietMs: number;
}

/** Runs of the scenario handler among `reports`. */
export function runsIn(reports: readonly ReplicaReport[]): HandlerRun[] {
  return reports.flatMap((report) => (report.type === 'run' ? [report.run] : []));
}

/** Ids of duplicates the inbox recognised among `reports`. */
export function duplicatesIn(reports: readonly ReplicaReport[]): string[] {
  return reports.flatMap((report) => (report.type === 'duplicate' ? [report.messageId] : []));
}

/** Ids the relay sent (confirmed by the broker) among `reports`. */
export function sentIn(reports: readonly ReplicaReport[]): string[] {
  return reports.flatMap((report) => (report.type === 'sent' ? [report.messageId] : []));
}

/** How many effects each event id has. */
export function effectCounts(effects: readonly ScenarioEffect[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const effect of effects) counts.set(effect.eventId, (counts.get(effect.eventId) ?? 0) + 1);
  return counts;
}

/** The pair's declared slowdown, checked: a positive finite factor, 1 when absent. */
export function slowdownOf(pair: BusPair): number {
  const slowdown = pair.slowdown ?? 1;
  if (!Number.isFinite(slowdown) || slowdown <= 0)
    throw new ConfigurationError(
      `BusPair "${pair.name}": slowdown must be a positive number, got ${slowdown}`,
    );
  return slowdown;
}

/** A context plus the cleanup that stops every replica and child it started. */
export async function createScenarioContext(
  options: ScenarioContextOptions,
): Promise<{ context: BusScenarioContext; cleanup: () => Promise<void> }> {
  const { pair, settings, scope } = options;
  const replicas: ScenarioReplica[] = [];
  const children: ScenarioChild[] = [];
  const observer: ScenarioStore = await pair.createStore(settings);
  let lock: DistributedLock | undefined;
  const sharedLock = async () => {
    lock ??= pair.createLock ? await pair.createLock(settings) : new MemoryLock();
    return lock;
  };
  const prefix = `${scope.runId}.${scope.caseId}.`;
  const effects = async () => (await observer.effects()).filter((effect) => effect.key.startsWith(prefix));
  const crashReason = (): string | undefined => {
    if (!pair.features.crashes)
      return 'the pair declares crashes: false (its store or broker does not outlive a process)';
    if (!options.modulePath) return 'no modulePath: a child process cannot import the pair';
    return undefined;
  };

  const context: BusScenarioContext = {
    pair,
    features: pair.features,
    settings,
    scope,
    timeoutMs: options.timeoutMs,
    slowdown: slowdownOf(pair),
    quietMs: options.quietMs,
    async replica(role, extras = {}) {
      const reports: ReplicaReport[] = [];
      let unitOfWork: ScenarioUnitOfWork | undefined;
      const replica = await ScenarioReplica.create({
        pair,
        settings,
        scope,
        role,
        report: (report) => reports.push(report),
        ...(role.lock ? { lock: await sharedLock() } : {}),
        ...(extras.unitOfWork
          ? {
              unitOfWork: (store: ScenarioStore) => {
                unitOfWork = new ScenarioUnitOfWork((work) => store.transaction(work));
                return unitOfWork;
              },
            }
          : {}),
      });
      replicas.push(replica);
      await replica.bus.start();
      return { replica, reports, unitOfWork };
    },
    async child(role) {
      const reason = crashReason();
      if (reason) skipCase(reason);
      const child = new ScenarioChild({ module: String(options.modulePath), settings, scope, role });
      children.push(child);
      await child.ready(options.timeoutMs * 2);
      return child;
    },
    requireCrashes() {
      const reason = crashReason();
      if (reason) skipCase(reason);
    },
    async foreignPublish(message) {
      if (pair.foreignPublish) return pair.foreignPublish(settings, message);
      const transport = await pair.createTransport(settings, 'foreign-publisher');
      await transport.start();
      try {
        const id = message.headers[WireHeaders.id] ?? uuidv7();
        const wire: WireMessage = { id, name: message.routeAs, headers: message.headers, body: message.body };
        const [outcome] = await transport.publish([wire]);
        if (!outcome?.ok) {
          throw new Error(`foreign publish failed: ${outcome ? String(outcome.error) : 'no outcome'}`);
        }
      } finally {
        await transport.stop();
      }
    },
    key: (name) => `${prefix}${name}`,
    effects,
    async waitForEffects(check, describe, timeoutMs = options.timeoutMs) {
      let last: ScenarioEffect[] = [];
      await waitFor(
        async () => {
          last = await effects();
          return check(last);
        },
        {
          timeoutMs,
          intervalMs: 100,
          describe: () =>
            `${typeof describe === 'function' ? describe() : describe} (effects so far: ${last.length})`,
        },
      ).catch(async (error: Error) => {
        // Where the missing ones are: never sent, dead on the send side, or sent and not handled.
        error.message += `; ${await storeSummary(observer)}`;
        throw error;
      });
    },
  };

  const cleanup = async () => {
    await Promise.allSettled(children.map((child) => child.kill()));
    await Promise.allSettled(replicas.map((replica) => replica.stop()));
    await observer.close();
  };
  return { context, cleanup };
}
