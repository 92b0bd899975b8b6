import { type Cluster, type Database, startPublishing } from './cluster.js';
import type { FreezePoint } from './shared.js';

/** What one pause run measured (printed, and asserted by the caller). */
export interface PauseResult {
  published: number;
  victim: string;
  /** Lock keys the paused replica held when it was frozen. */
  victimKeys: string[];
  pausedMs: number;
  /** Pause → the last of the victim's keys acquired by another replica, in ms. */
  takeoverMs: number;
  /** Batches the victim handed to the broker after it resumed under a lease it held before the pause. */
  staleTransmits: number;
  /**
   * Records the victim marked published by a statement it issued after it
   * resumed, under a lease it held before the pause (the mark's
   * `published_at`, the relay's clock when it issued the statement, is after
   * the resume).
   */
  staleMarks: number;
  /**
   * Marks reported after the resume but issued before the pause
   * (`published_at` before it): a commit in flight when the process froze,
   * whose `sent` event only fired after the resume.
   */
  marksInFlightAtPause: number;
  /** Batches / marks the victim made after resuming under a lease it acquired after it (legitimate). */
  freshTransmits: number;
  freshMarks: number;
  /** Records in the batch the victim held when frozen (`holdingBatch`). */
  heldBatch: number;
  /** "lost its lock" reports of the victim after it resumed, with their reasons. */
  lockLost: string[];
  relayDuplicates: number;
  inboxDuplicates: number;
}

export interface PauseOptions {
  readonly cluster: Cluster;
  readonly database: Database;
  readonly lockTtlMs: number;
  /** Lock keys of the outbox relays (one, or one per shard in shard order). */
  readonly outboxKeys: readonly string[];
  /** Before the pause, wait until the keys are held by this many replicas (sharded relays). */
  readonly spreadAcross?: number;
  /**
   * Freeze the victim with a claimed batch in hand (rows locked) at this
   * point, rather than wherever it happens to be (see {@link FreezePoint}).
   */
  readonly holdingBatch?: FreezePoint;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Three replicas relay and handle a steady stream; the replica holding most
 * outbox locks is SIGSTOPped mid-stream, stays frozen until others took over
 * its locks and relayed for a while, then is SIGCONTinued and runs on beside
 * them. A send or mark it makes after resuming counts as stale unless it
 * acquired that lock again after resuming (fencing must refuse the rest).
 */
export async function runPauseScenario(options: PauseOptions): Promise<PauseResult> {
  const { cluster, database, lockTtlMs, outboxKeys } = options;
  await Promise.all(['replica-a', 'replica-b', 'replica-c'].map((name) => cluster.spawn(name)));
  const publishing = startPublishing(database, cluster.run, { everyMs: 40, perBatch: 4, keys: 64 });
  let published = 0;
  try {
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
    const held = cluster.holders();
    const load = new Map<string, string[]>();
    for (const key of outboxKeys) load.set(held.get(key)!, [...(load.get(held.get(key)!) ?? []), key]);
    const [victim, victimKeys] = [...load.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;

    let heldBatch = 0;
    if (options.holdingBatch) {
      cluster.send(victim, { type: 'arm-freeze', where: options.holdingBatch });
      await cluster.waitFor(
        () => cluster.of('holding-batch').some((r) => r.replica === victim),
        15_000,
        `${victim} to hold a claimed batch`,
      );
      heldBatch = cluster.of('holding-batch').find((r) => r.replica === victim)!.ids.length;
    }
    const pausedAt = cluster.pause(victim);
    const takeovers = () =>
      cluster
        .of('acquired')
        .filter((r) => r.at > pausedAt && victimKeys.includes(r.key) && r.replica !== victim);
    await cluster.waitFor(
      () => new Set(takeovers().map((r) => r.key)).size === victimKeys.length,
      lockTtlMs * 3 + 5_000,
      `the other replicas to take over ${victimKeys.join(', ')}`,
    );
    const takenOverAt = Math.max(
      ...[...new Set(takeovers().map((r) => r.key))].map((key) => takeovers().find((r) => r.key === key)!.at),
    );
    // The new holders relay while the victim is still frozen, well past its TTL.
    await sleep(Math.max(1_000, pausedAt + lockTtlMs + 1_000 - Date.now()));
    // Queued over IPC while frozen: the held batch goes on to the relay's send right after the resume.
    if (options.holdingBatch) cluster.send(victim, { type: 'go' });
    const resumedAt = cluster.resume(victim);
    // The victim runs on beside the new holders, still believing it holds its locks.
    await sleep(Math.max(3_000, lockTtlMs));

    published = await publishing.stop();
    await cluster.waitFor(
      () => new Set(cluster.of('handled').map((r) => r.id)).size >= published,
      30_000,
      `all ${published} events to be handled`,
    );
    await sleep(500);
    const codes = await cluster.stopAll();
    if (codes.some((code) => code !== 0)) throw new Error(`a replica did not stop cleanly: ${codes}`);

    const keyOf = (bucket: number) => outboxKeys[outboxKeys.length === 1 ? 0 : bucket % outboxKeys.length]!;
    // A lease is fresh when the victim acquired its key after resuming and before the act.
    const reacquired = cluster.of('acquired').filter((r) => r.replica === victim && r.at >= resumedAt);
    const fresh = (bucket: number, at: number) =>
      reacquired.some((r) => r.key === keyOf(bucket) && r.at <= at);
    const transmits = cluster.of('transmit').filter((r) => r.replica === victim && r.at >= resumedAt);
    const marks = cluster.of('sent').filter((r) => r.replica === victim && r.at >= resumedAt);
    const staleTransmits = transmits.filter((r) => r.buckets.some((bucket) => !fresh(bucket, r.at)));
    const markedAt = await publishedAt(
      database,
      marks.filter((r) => !fresh(r.bucket, r.at)).map((r) => r.id),
    );
    const staleMarks = [...markedAt.values()].filter((at) => at >= resumedAt);
    const inFlight = [...markedAt.values()].filter((at) => at < pausedAt);
    const sends = cluster.of('sent').map((r) => r.id);
    return {
      published,
      victim,
      victimKeys,
      pausedMs: resumedAt - pausedAt,
      takeoverMs: takenOverAt - pausedAt,
      staleTransmits: staleTransmits.length,
      staleMarks: staleMarks.length,
      marksInFlightAtPause: inFlight.length,
      freshTransmits: transmits.length - staleTransmits.length,
      freshMarks: marks.length - markedAt.size,
      heldBatch,
      lockLost: cluster
        .of('lock-lost')
        .filter((r) => r.replica === victim && r.at >= resumedAt)
        .map((r) => r.reason),
      relayDuplicates: sends.length - new Set(sends).size,
      inboxDuplicates: cluster.of('duplicate').length,
    };
  } finally {
    if (!published) await publishing.stop().catch(() => undefined);
  }
}

/** `published_at` (the marking relay's clock when it issued the mark) of records by id. */
async function publishedAt(database: Database, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await database.prisma.$queryRawUnsafe<Array<{ id: string; published_at: bigint | null }>>(
    'SELECT id, published_at FROM herald_outbox WHERE id = ANY($1::text[])',
    [...ids],
  );
  return new Map(rows.map((row) => [row.id, Number(row.published_at ?? 0)]));
}
