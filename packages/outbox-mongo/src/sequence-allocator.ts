import { HeraldError } from '@herald/core';
import type { Collection } from 'mongodb';
import type { SequenceBlockDocument } from './documents.js';
import { isDuplicateKey } from './errors.js';

/** How long this process trusts the end of its own last block instead of reading the highest one. */
const CACHE_MS = 60_000;
/** Blocks younger than this are never pruned (a stale cached end must still collide). */
export const SEQUENCE_BLOCK_MIN_AGE_MS = 3_600_000;
const MAX_ATTEMPTS = 100;

/**
 * Hands out increasing sequence numbers without `$inc`.
 *
 * The obvious counter (`findOneAndUpdate({ $inc })`) is atomic on MongoDB but
 * not on FerretDB 1.24, whose updates read, then write the whole document:
 * 20 concurrent increments of one counter there end at 4. So a reservation is
 * an insert of the block `{ _id: start, end }` with `start` one past the end
 * of a block that exists. Every block starts right after another one, so two
 * reservations from the same view pick the same `start` and the unique `_id`
 * lets exactly one of them in; the loser reads the highest block and tries
 * again. Blocks therefore never overlap, on any server with unique indexes.
 *
 * Reservations happen outside the caller's transaction (like a SQL sequence):
 * concurrent publishing transactions do not conflict on a counter document,
 * and a rolled-back transaction leaves a gap, which is harmless.
 */
export class SequenceAllocator {
  readonly #blocks: Collection<SequenceBlockDocument>;
  /** End of the last block this process reserved, and when. */
  #last: { end: number; at: number } | undefined;
  /** Reservations of this process run one at a time: they would only collide with each other. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(blocks: Collection<SequenceBlockDocument>) {
    this.#blocks = blocks;
  }

  /** Reserves `count` consecutive numbers and returns the first. */
  reserve(count: number): Promise<number> {
    const next = this.#queue.then(() => this.#reserve(count));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #reserve(count: number): Promise<number> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cached = this.#last && Date.now() - this.#last.at < CACHE_MS ? this.#last.end : undefined;
      const start = (cached ?? (await this.#highestEnd())) + 1;
      const end = start + count - 1;
      try {
        await this.#blocks.insertOne({ _id: start, end, at: new Date() });
        this.#last = { end, at: Date.now() };
        return start;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        this.#last = undefined; // another process reserved after our view: read the highest block
      }
    }
    throw new HeraldError(
      'HERALD_MONGO_SEQUENCE_CONTENTION',
      `Could not reserve sequence numbers in "${this.#blocks.collectionName}" after ${MAX_ATTEMPTS} attempts`,
    );
  }

  async #highestEnd(): Promise<number> {
    const highest = await this.#blocks.find({}, { sort: { _id: -1 }, limit: 1 }).next();
    return highest?.end ?? 0;
  }

  /** Deletes up to `limit` old blocks, always keeping the highest one. */
  async prune(before: Date, limit: number): Promise<void> {
    const highest = await this.#blocks
      .find({}, { sort: { _id: -1 }, limit: 1, projection: { _id: 1 } })
      .next();
    if (!highest) return;
    const cutoff = new Date(Math.min(before.getTime(), Date.now() - SEQUENCE_BLOCK_MIN_AGE_MS));
    const old = await this.#blocks
      .find({ _id: { $lt: highest._id }, at: { $lt: cutoff } }, { projection: { _id: 1 }, limit })
      .toArray();
    if (old.length > 0) await this.#blocks.deleteMany({ _id: { $in: old.map((block) => block._id) } });
  }
}
