import { expect } from 'vitest';
import { type Cluster, type Database, largestGap, restartRedis, startPublishing } from './cluster.js';

/** What one multi-process run measured (printed, and asserted by the caller's bounds). */
export interface ScenarioResult {
  published: number;
  /** Per lock key the killed replica held: kill → another replica's acquisition, in ms. */
  handovers: Record<string, number>;
  /** Kill → first send by another replica, in ms. */
  resumedAfterKillMs: number;
  /** Longest pause in sends from the Redis restart until TTL + 2 s after it came back. */
  restartGapMs: number;
  restartMs: number;
  /** Restart → first lock acquisition after it (the node came back without the locks). */
  reacquiredAfterRestartMs: number | null;
  relayDuplicates: number;
  inboxDuplicates: number;
}

export interface ScenarioOptions {
  readonly cluster: Cluster;
  readonly database: Database;
  readonly lockTtlMs: number;
  /** Lock keys of the outbox relays (one, or one per shard). */
  readonly outboxKeys: readonly string[];
  /** Port of the Redis node to restart. */
  readonly restartPort: string;
  /** Before the kill, wait until the outbox keys are held by this many replicas (sharded relays). */
  readonly spreadAcross?: number;
}

/**
 * Three replicas relay and handle a steady stream of events; the lock holder
 * (the replica holding most outbox keys) is SIGKILLed; then a Redis node is
 * restarted; then the stream stops and every event must have been handled
 * exactly once (one committed row per event).
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const { cluster, database, lockTtlMs, outboxKeys } = options;
  await Promise.all(['replica-a', 'replica-b', 'replica-c'].map((name) => cluster.spawn(name)));
  const publishing = startPublishing(database, cluster.run, { everyMs: 40, perBatch: 4, keys: 64 });
  let published = 0;
  try {
    // Warm: events flow and every outbox key has a holder.
    const spread = options.spreadAcross ?? 1;
    await cluster.waitFor(
      () => {
        const holders = cluster.holders();
        return (
          cluster.of('handled').length >= 80 &&
          outboxKeys.every((key) => holders.has(key)) &&
          new Set(outboxKeys.map((key) => holders.get(key))).size >= spread
        );
      },
      20_000,
      `events to flow and every outbox lock to be held (by ${spread} replica(s))`,
    );

    // 1. SIGKILL the replica that holds the most outbox keys.
    const held = cluster.holders();
    const load = new Map<string, string[]>();
    for (const key of outboxKeys) {
      const holder = held.get(key)!;
      load.set(holder, [...(load.get(holder) ?? []), key]);
    }
    const [victim, victimKeys] = [...load.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
    const reportsBefore = cluster.reports.length;
    const killedAt = await cluster.kill(victim);
    const takeovers = () =>
      cluster.reports
        .slice(reportsBefore)
        .filter((r) => r.type === 'acquired' && victimKeys.includes(r.key) && r.replica !== victim);
    await cluster.waitFor(
      () => new Set(takeovers().map((r) => (r.type === 'acquired' ? r.key : ''))).size === victimKeys.length,
      lockTtlMs * 3 + 5_000,
      `the other replicas to take over ${victimKeys.join(', ')}`,
    );
    const handovers: Record<string, number> = {};
    for (const report of takeovers()) {
      if (report.type === 'acquired') handovers[report.key] ??= report.at - killedAt;
    }
    await cluster.waitFor(
      () => cluster.of('sent').some((r) => r.at > killedAt && r.replica !== victim),
      lockTtlMs * 3 + 5_000,
      'sends after the kill',
    );
    const resumedAfterKillMs =
      Math.min(
        ...cluster
          .of('sent')
          .filter((r) => r.at > killedAt && r.replica !== victim)
          .map((r) => r.at),
      ) - killedAt;

    // 2. Restart one Redis node (redis.sh restart): locks on it are gone when it returns.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const restartFrom = Date.now();
    await restartRedis(options.restartPort);
    const restartTo = Date.now();
    const windowEnd = restartTo + lockTtlMs + 2_000;
    await new Promise((resolve) => setTimeout(resolve, windowEnd - Date.now() + 200));
    const restartGapMs = largestGap(
      cluster.of('sent').map((r) => r.at),
      restartFrom,
      windowEnd,
    );

    // 3. Stop the stream; everything published must be handled.
    published = await publishing.stop();
    await cluster.waitFor(
      () => new Set(cluster.of('handled').map((r) => r.id)).size >= published,
      30_000,
      `all ${published} events to be handled`,
    );
    // A moment for late duplicates to show up (they must be absorbed, not handled).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const codes = await cluster.stopAll();
    expect(codes, 'every surviving replica stops cleanly').toEqual(codes.map(() => 0));

    const sends = cluster.of('sent').map((r) => r.id);
    const reacquired = cluster
      .of('acquired')
      .filter((r) => outboxKeys.includes(r.key) && r.at >= restartFrom)
      .map((r) => r.at);
    return {
      published,
      handovers,
      resumedAfterKillMs,
      restartGapMs,
      restartMs: restartTo - restartFrom,
      reacquiredAfterRestartMs: reacquired.length > 0 ? Math.min(...reacquired) - restartFrom : null,
      relayDuplicates: sends.length - new Set(sends).size,
      inboxDuplicates: cluster.of('duplicate').length,
    };
  } finally {
    if (!published) await publishing.stop().catch(() => undefined);
  }
}

/** The rows the handlers committed: one per event, every event present. */
export async function expectEveryEventHandledOnce(database: Database, published: number): Promise<void> {
  const [row] = await database.prisma.$queryRawUnsafe<
    Array<{ rows: bigint; events: bigint; numbers: bigint; low: number | null; high: number | null }>
  >(
    `SELECT count(*) AS rows, count(DISTINCT event_id) AS events, count(DISTINCT n) AS numbers,
            min(n) AS low, max(n) AS high
       FROM lock_test_handled`,
  );
  expect({
    rows: Number(row!.rows),
    events: Number(row!.events),
    numbers: Number(row!.numbers),
    low: row!.low,
    high: row!.high,
  }).toEqual({ rows: published, events: published, numbers: published, low: 0, high: published - 1 });
}

/** Fencing tokens of every key, in the order the leases were granted, strictly increase. */
export function expectIncreasingTokens(cluster: Cluster): void {
  const byKey = new Map<string, bigint[]>();
  // Ordered by grant time (one clock: all processes run on this machine).
  const grants = [...cluster.of('acquired')].sort((a, b) => a.at - b.at);
  for (const report of grants) {
    byKey.set(report.key, [...(byKey.get(report.key) ?? []), BigInt(report.token)]);
  }
  for (const [key, tokens] of byKey) {
    for (let i = 1; i < tokens.length; i++) {
      expect(tokens[i]! > tokens[i - 1]!, `fencing token ${i} of ${key}`).toBe(true);
    }
  }
}
