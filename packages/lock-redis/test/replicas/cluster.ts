import { type ChildProcess, execFile, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createIntegrationEventBus, type IntegrationEventBus, silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { emptyTables, postgresTestDatabase } from '@herald/testkit/engines';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client/client.js';
import { type ParentMessage, type ReplicaReport, type ReplicaSettings, replicaEnv, Tick } from './shared.js';

const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const REPLICA_SCRIPT = fileURLToPath(new URL('./replica.ts', import.meta.url));
const REPLICA_TSCONFIG = fileURLToPath(new URL('./tsconfig.json', import.meta.url));
const REDIS_SCRIPT = fileURLToPath(new URL('../../../../tooling/services/redis.sh', import.meta.url));
const TEST_DATABASE = 'herald_lock_redis';

export const RABBITMQ_URL = process.env.HERALD_RABBITMQ_URL ?? 'amqp://herald:herald@127.0.0.1:5672';

/** A report with the replica that sent it. */
export type Received = ReplicaReport & { replica: string };

/** A replica process and what it reported. */
export interface Replica {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The test database (created once), migrated and emptied, plus the parent's publishing bus. */
export interface Database {
  readonly url: string;
  readonly prisma: PrismaClient;
  /** Publishes without relaying (ABP's IsSendingEnabled = false): the replicas relay. */
  readonly publisher: IntegrationEventBus;
  close(): Promise<void>;
}

export async function prepareDatabase(databaseName: string): Promise<Database> {
  const connect = (at: string) => new PrismaClient({ adapter: new PrismaPg({ connectionString: at }) });
  const { url } = await postgresTestDatabase(TEST_DATABASE, connect);
  const prisma = connect(url);
  const log = prismaEventLog(prisma, { provider: 'postgresql', databaseName, logger: silentLogger });
  await log.migrate();
  await prisma.$executeRawUnsafe(
    `CREATE TABLE IF NOT EXISTS lock_test_handled (
       seq BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL, n INTEGER NOT NULL,
       replica TEXT NOT NULL, handled_at BIGINT NOT NULL)`,
  );
  await emptyTables(prisma, 'postgresql', ['herald_outbox', 'herald_inbox', 'lock_test_handled']);
  const publisher = createIntegrationEventBus({ service: 'lock-redis-test-publisher', logger: silentLogger })
    .useEventLog(log, { sending: false, processing: false })
    .build();
  await publisher.start();
  return {
    url,
    prisma,
    publisher,
    async close() {
      await publisher.stop();
      await prisma.$disconnect();
    },
  };
}

/** Replica processes and everything they report, in arrival order. */
export class Cluster {
  readonly reports: Received[] = [];
  readonly replicas = new Map<string, Replica>();
  readonly run = randomUUID();
  readonly #base: Omit<ReplicaSettings, 'replica' | 'run'>;
  #listeners = new Set<() => void>();

  constructor(base: Omit<ReplicaSettings, 'replica' | 'run'>) {
    this.#base = base;
  }

  /** Starts a replica with `node --import tsx` and resolves once its bus is running. */
  async spawn(name: string, timeoutMs = 60_000): Promise<Replica> {
    const child = fork(REPLICA_SCRIPT, [], {
      cwd: PACKAGE_DIR,
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        ...replicaEnv({ ...this.#base, replica: name, run: this.run }),
        TSX_TSCONFIG_PATH: REPLICA_TSCONFIG,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.on('message', (message: ReplicaReport) => {
      this.reports.push({ ...message, replica: name });
      for (const listener of this.#listeners) listener();
    });
    const replica: Replica = { name, process: child, exited };
    this.replicas.set(name, replica);
    await this.waitFor(
      () => this.reports.some((r) => r.replica === name && r.type === 'ready'),
      timeoutMs,
      `replica ${name} to start`,
      () =>
        exited.then(({ code, signal }) => `replica ${name} exited early (code ${code}, signal ${signal})`),
    );
    return replica;
  }

  /** SIGKILL: no graceful stop, no lock release — the lease has to run out. */
  async kill(name: string): Promise<number> {
    const replica = this.replicas.get(name)!;
    const at = Date.now();
    replica.process.kill('SIGKILL');
    await replica.exited;
    this.replicas.delete(name);
    return at;
  }

  /** Sends a message to a replica over IPC. */
  send(name: string, message: ParentMessage): void {
    this.replicas.get(name)!.process.send(message);
  }

  /** SIGSTOP: the process freezes mid-whatever (a GC pause, a VM freeze); its lease runs out meanwhile. */
  pause(name: string): number {
    this.replicas.get(name)!.process.kill('SIGSTOP');
    return Date.now();
  }

  /** SIGCONT: the frozen process goes on where it stopped, still believing it holds its locks. */
  resume(name: string): number {
    const at = Date.now();
    this.replicas.get(name)!.process.kill('SIGCONT');
    return at;
  }

  /** Graceful stop of every live replica; resolves with their exit codes. */
  async stopAll(timeoutMs = 30_000): Promise<Array<number | null>> {
    const live = [...this.replicas.values()];
    for (const replica of live) replica.process.send({ type: 'stop' });
    const codes = await Promise.race([
      Promise.all(live.map((replica) => replica.exited.then(({ code }) => code))),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('replicas did not stop in time')), timeoutMs).unref(),
      ),
    ]);
    this.replicas.clear();
    return codes;
  }

  /** Last resort in `afterAll`: nothing may outlive the test. */
  killAll(): void {
    for (const replica of this.replicas.values()) replica.process.kill('SIGKILL');
    this.replicas.clear();
  }

  /** Resolves when `predicate` holds (checked on every report and every 100 ms). */
  waitFor(
    predicate: () => boolean,
    timeoutMs: number,
    what: string,
    failure?: () => Promise<string>,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.#listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (predicate()) finish();
      };
      const timer = setTimeout(
        () => finish(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      const poll = setInterval(check, 100);
      this.#listeners.add(check);
      failure?.().then((message) => finish(new Error(message)));
      check();
    });
  }

  /** Reports of one type, typed. */
  of<T extends Received['type']>(type: T): Array<Extract<Received, { type: T }>> {
    return this.reports.filter((report): report is Extract<Received, { type: T }> => report.type === type);
  }

  /** Who holds each lock key now, by the reports (acquired, minus lost or released). */
  holders(): Map<string, string> {
    const holders = new Map<string, string>();
    for (const report of this.reports) {
      if (report.type === 'acquired') holders.set(report.key, report.replica);
      else if (
        (report.type === 'extend-failed' || report.type === 'released') &&
        holders.get(report.key) === report.replica
      )
        holders.delete(report.key);
    }
    for (const [key, replica] of holders) if (!this.replicas.has(replica)) holders.delete(key);
    return holders;
  }
}

/** Publishes `Tick`s in small batches on a timer until stopped; returns how many. */
export function startPublishing(
  database: Database,
  run: string,
  options: { everyMs: number; perBatch: number; keys: number },
): { stop(): Promise<number>; readonly count: number } {
  let n = 0;
  let stopped = false;
  let failure: unknown;
  const loop = (async () => {
    while (!stopped) {
      const batch = Array.from({ length: options.perBatch }, () => n++);
      try {
        await Promise.all(
          batch.map((i) =>
            database.publisher.publish(new Tick({ run, n: i }), { orderingKey: `key-${i % options.keys}` }),
          ),
        );
      } catch (error) {
        failure = error;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, options.everyMs));
    }
  })();
  return {
    get count() {
      return n;
    },
    async stop() {
      stopped = true;
      await loop;
      if (failure) throw failure;
      return n;
    },
  };
}

/** `tooling/services/redis.sh restart <port>`: a real stop and start of one Redis node. */
export async function restartRedis(port: string): Promise<void> {
  await promisify(execFile)('bash', [REDIS_SCRIPT, 'restart', port], { timeout: 60_000 });
}

/** Largest pause between consecutive timestamps inside [from, to] (edges included). */
export function largestGap(times: readonly number[], from: number, to: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let previous = from;
  let gap = 0;
  for (const time of sorted) {
    if (time < from) continue;
    if (time > to) break;
    gap = Math.max(gap, time - previous);
    previous = time;
  }
  return Math.max(gap, to - previous);
}
