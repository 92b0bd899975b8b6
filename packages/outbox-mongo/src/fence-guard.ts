import { assertFenceCurrent, type Fence } from '@herald/core';
import type { Collection, IndexDescription } from 'mongodb';
import { DUPLICATE_KEY } from './errors.js';

/** One token a relay presented for a lock (the newest per lock is the guard). */
export interface FenceDocument {
  /** `[lock, token]`: inserting the same token twice is a duplicate, not a second document. */
  _id: string;
  lock: string;
  /** The token, zero-padded decimal: string order is numeric order, and no precision is lost. */
  token: string;
}

export const FENCE_INDEXES: IndexDescription[] = [{ key: { lock: 1, token: -1 }, name: 'herald_newest' }];

const TOKEN_DIGITS = 24;
const padded = (token: bigint) => token.toString().padStart(TOKEN_DIGITS, '0');

/**
 * The guard documents of the outbox's relay locks (`<outbox>_fences`). A
 * relay's first call under a token inserts `[lock, token]`; the newest token
 * of a lock is the highest document. Inserts, not conditional updates:
 * FerretDB 1.24 does not apply a filtered update atomically (see
 * lease-registry.ts), while a unique insert is exact on both servers.
 *
 * MongoDB offers no statement that checks the guard and writes records at
 * once without a transaction, so the stores check before every write and a
 * claim checks again after it (undoing its leases when it lost): a stale
 * relay is stopped at its next call, with a window of one round trip
 * between a mark's check and its write.
 */
export class FenceGuard {
  readonly #fences: Collection<FenceDocument>;
  /** Tokens this store already recorded, per lock: later calls only read. */
  readonly #recorded = new Map<string, bigint>();

  constructor(fences: Collection<FenceDocument>) {
    this.#fences = fences;
  }

  /** Records `fence.token` for its lock (first use) and throws `StaleFencingTokenError` if a newer one exists. */
  async enter(fence: Fence | undefined): Promise<void> {
    if (!fence) return;
    if (this.#recorded.get(fence.lock) !== fence.token) {
      const token = padded(fence.token);
      await this.#fences
        .insertOne({ _id: JSON.stringify([fence.lock, token]), lock: fence.lock, token })
        .catch((error: unknown) => {
          if ((error as { code?: unknown }).code !== DUPLICATE_KEY) throw error;
        });
      this.#recorded.set(fence.lock, fence.token);
      await this.check(fence);
      // Older tokens of this lock can never win again: keep one document per lock.
      await this.#fences.deleteMany({ lock: fence.lock, token: { $lt: token } });
      return;
    }
    await this.check(fence);
  }

  /** Throws `StaleFencingTokenError` when the lock has a newer token than `fence`'s. */
  async check(fence: Fence | undefined): Promise<void> {
    if (!fence) return;
    const newest = await this.#fences.findOne({ lock: fence.lock }, { sort: { token: -1 } });
    assertFenceCurrent(fence, newest ? BigInt(newest.token) : null);
  }
}
