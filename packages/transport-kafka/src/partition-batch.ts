import type { Limiter } from './limiter.js';

/** What the batch runner needs to know of a record. */
export interface BatchRecord {
  readonly offset: string;
  /** The ordering lane: records with the same lane run one at a time in offset order; `undefined` runs alone. */
  readonly lane: string | undefined;
}

/** The outcome of one record: handled (its offset may be committed), or to be delivered again. */
export type RecordOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'redeliver'; readonly delayMs: number };

/** How a batch ended. */
export interface BatchResult {
  /** Set when a record must come again: the longest delay asked for. Nothing from that record on was resolved. */
  readonly redeliverAfterMs: number | undefined;
}

/** Hooks of {@link runPartitionBatch}. */
export interface PartitionBatchHooks<R extends BatchRecord> {
  /** Shared bound on records in flight (across the subscription's partitions). */
  readonly limiter: Limiter;
  /** Hands one record to core and carries out the disposition. Must not reject. */
  handle(record: R): Promise<RecordOutcome>;
  /** True when no further record may start (closing, rebalance, stale batch). */
  shouldStop(): boolean;
  /**
   * Called whenever the handled prefix of the batch grows, with the offset of
   * its last record: everything up to it may be committed.
   */
  resolved(offset: string): void;
}

/**
 * Runs the records of one fetched partition batch concurrently across lanes
 * (ordering keys): the records of one lane one at a time in offset order,
 * different lanes at once, bounded by the shared limiter.
 *
 * Offsets are reported by `resolved` only up to the lowest unfinished record
 * ("contiguous commit"), so a crash or a rebalance never commits past a record
 * that was not handled. When `shouldStop` turns true (close, rebalance), no
 * record past the furthest started one starts, but those before it still
 * run, so the handled records form a prefix and a graceful stop commits all
 * of them (nothing comes twice). A `redeliver` outcome stops the batch: no further
 * record starts, those in flight finish, and the prefix before the
 * redelivered record is the last thing resolved, so it (and everything after
 * it, handled or not) comes again on the next fetch.
 */
export async function runPartitionBatch<R extends BatchRecord>(
  records: readonly R[],
  hooks: PartitionBatchHooks<R>,
): Promise<BatchResult> {
  const finished = new Array<boolean>(records.length).fill(false);
  let prefix = 0;
  let stopped = false;
  /** Index of the furthest record that started: on a stop, the records below it still run (no gaps). */
  let furthestStarted = -1;
  let redeliverAfterMs: number | undefined;

  const lanes = new Map<string | number, number[]>();
  records.forEach((record, index) => {
    const lane = record.lane ?? index;
    const queue = lanes.get(lane);
    if (queue) queue.push(index);
    else lanes.set(lane, [index]);
  });

  const advance = () => {
    const before = prefix;
    while (prefix < records.length && finished[prefix]) prefix++;
    if (prefix > before) hooks.resolved(records[prefix - 1]!.offset);
  };

  const runLane = async (indexes: readonly number[]) => {
    const mayStart = (index: number) => !stopped && (index < furthestStarted || !hooks.shouldStop());
    for (const index of indexes) {
      if (!mayStart(index)) return;
      await hooks.limiter.acquire();
      let outcome: RecordOutcome;
      try {
        if (!mayStart(index)) return;
        furthestStarted = Math.max(furthestStarted, index);
        outcome = await hooks.handle(records[index]!);
      } finally {
        hooks.limiter.release();
      }
      if (outcome.kind === 'redeliver') {
        stopped = true;
        redeliverAfterMs = Math.max(redeliverAfterMs ?? 0, outcome.delayMs);
        return;
      }
      finished[index] = true;
      advance();
    }
  };

  await Promise.all([...lanes.values()].map(runLane));
  return { redeliverAfterMs };
}
