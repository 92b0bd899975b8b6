import type { WireMessage } from '../wire.js';
import type { ErrorEntry, RecordQuery } from './records.js';

/**
 * Life of an outbox record: `pending` → `published`, or `pending` → `failed`
 * (waiting for a persistent retry) → … → `published` | `dead`.
 */
export type OutboxStatus = 'pending' | 'failed' | 'published' | 'dead';

/** One outbox row. */
export interface OutboxRecord {
  /** The message as stored by `add`: id, name, headers and encoded body. */
  readonly message: WireMessage;
  /** Insert order within the store; per ordering key it decides delivery order. */
  readonly sequence: number;
  /** Shard bucket (0…1023) of the ordering key (or of the id when there is none). */
  readonly bucket: number;
  /** Where the record stands (see {@link OutboxStatus}). */
  readonly status: OutboxStatus;
  /** Failed publish attempts that were persisted (local retries are not counted). */
  readonly attempts: number;
  /** When `add` stored the record. */
  readonly createdAt: Date;
  /**
   * When the record is next due: a delayed publish's time, a failed record's
   * retry, a requeue's time. `null` for a record due at once and for a dead one.
   */
  readonly nextAttemptAt: Date | null;
  /**
   * The latest failed publish's description (`name: message`, or `code: message`
   * for a HeraldError); `null` when it never failed.
   */
  readonly lastError: string | null;
  /** Recent failures, oldest first (stores keep a bounded number; optional). */
  readonly errorHistory?: readonly ErrorEntry[];
  /** When the broker's confirmation was recorded; `null` until `published`. */
  readonly publishedAt: Date | null;
}

/** One message for {@link OutboxStore.add}. */
export interface OutboxEntry {
  /** The encoded message to store (its `id` becomes the record's id). */
  readonly message: WireMessage;
  /** Shard bucket (0…1023), precomputed by core. */
  readonly bucket: number;
  /**
   * Delayed publish: the record is stored `pending` with this `nextAttemptAt`
   * and is not claimable before it (it still blocks later records of its key).
   * Absent: due at once.
   */
  readonly nextAttemptAt?: Date;
}

/**
 * The lock a relay claims and marks under, with its fencing token. A store
 * remembers the newest token it has seen per `lock` and refuses, with
 * `StaleFencingTokenError` and nothing written, any call carrying an older one.
 */
export interface Fence {
  /** The distributed lock's key (one per outbox, or per shard). */
  readonly lock: string;
  /** The lease's fencing token (`LockLease.fencingToken`). */
  readonly token: bigint;
}

/** Ask for the next records to relay. */
export interface ClaimRequest {
  /** At most this many records are claimed. */
  readonly limit: number;
  /** The claim is exclusive until `now + leaseMs`; after that another relay may take it. */
  readonly leaseMs: number;
  /** Identifies the claiming relay (diagnostics). */
  readonly owner: string;
  /** The caller's clock: decides which records are due and which leases have expired. */
  readonly now: Date;
  /** Only records whose bucket satisfies `bucket % count === index` (sharded relays). */
  readonly shard?: {
    /** This relay's shard, `0 … count - 1`. */
    readonly index: number;
    /** How many shards the outbox is split into. */
    readonly count: number;
  };
  /**
   * The caller is the only relay of this outbox (or shard): it holds the
   * distributed lock for it. The store then returns the claimable records
   * without writing a lease into them, so `markPublished` is the only rewrite
   * of a row after its insert. Live leases written by non-exclusive claims are
   * still respected. A caller killed mid-batch leaves its records claimable at
   * once; the lock's TTL bounds how long two holders can overlap.
   *
   * Core's relay asks for it only with a {@link ClaimRequest.fence} (a lock
   * held) and a store without `claimLocked`: two holders can overlap after a
   * pause past the TTL or a Redis restart, and the fence is what stops the
   * older one at its next claim or mark.
   */
  readonly exclusive?: boolean;
  /**
   * The caller holds this lock: the store raises its newest token for the
   * lock to this one, and refuses the claim (`StaleFencingTokenError`,
   * nothing claimed) when it has already seen a newer one.
   */
  readonly fence?: Fence;
}

/** What the relay reports to {@link OutboxStore.claimLocked} once a batch was sent. */
export interface LockedBatchOutcome {
  /** Confirmed by the broker: marked `published` in the claim's transaction. */
  readonly published: readonly string[];
  /** Kept by the relay for a local retry: leased (`leaseMs`) in the claim's transaction. */
  readonly held: readonly string[];
}

/** A failed publish to record: with `nextAttemptAt: null` the record becomes `dead`. */
export interface OutboxFailure {
  /** The failed record's message id. */
  readonly id: string;
  /** Why the publish failed, stored as `lastError` (a short description, no stack). */
  readonly error: string;
  /** When to retry; `null` makes the record `dead`. */
  readonly nextAttemptAt: Date | null;
}

/**
 * The port an outbox database adapter implements. Stores translate; the relay
 * in core decides what to claim, send, retry and dead-letter.
 *
 * The claim rule every store implements (the conformance suite checks it):
 * a record is claimable when it is `pending` or `failed`, its `nextAttemptAt`
 * is null or `<= now` (a failed record waiting for its retry, or a delayed
 * publish not yet due), it is not under a live lease, and no record with the
 * same ordering key and a lower sequence is `pending`, `failed` or leased —
 * a delayed record not yet due blocks the later records of its key.
 * Claimed records come back in sequence order. An `exclusive` claim applies
 * the same rule but leases nothing (see {@link ClaimRequest.exclusive}).
 */
export interface OutboxStore {
  /** Engine name for logs, e.g. `prisma-postgresql`. */
  readonly name: string;
  /** Identity of the database (ABP's DatabaseName): part of lock keys. */
  readonly databaseName: string;
  /** True when `add` with a `tx` commits with the caller's transaction. */
  readonly transactional: boolean;
  /**
   * Writes messages as `pending` (due at their `nextAttemptAt` when given).
   * With `tx`, inside the caller's transaction; without, atomically on its
   * own. `bucket` is precomputed by core.
   */
  add(messages: readonly OutboxEntry[], tx?: unknown): Promise<void>;
  /** Leases (unless `exclusive`) and returns the next claimable records (see the claim rule above). */
  claim(request: ClaimRequest): Promise<OutboxRecord[]>;
  /**
   * Claims like {@link OutboxStore.claim} (`exclusive` aside) but holds the
   * records' row locks in a transaction while `send` runs, then marks
   * `published` and leases `held` in that same transaction. No lease is
   * written for a batch that goes through, so a row is rewritten once after
   * its insert; concurrent claims skip the locked rows; a relay that dies
   * mid-batch leaves its records claimable at once (the transaction rolls
   * back). Resolves with the claimed records after the commit; rejects, with
   * nothing marked, when `send` or the transaction fails. With
   * `request.fence`, the token is checked before the records are handed to
   * `send` and again by the marks: a newer token seen meanwhile rejects with
   * `StaleFencingTokenError` and nothing marked. Optional: stores
   * that cannot hold row locks while a broker confirms leave it out.
   */
  claimLocked?(
    request: ClaimRequest,
    send: (records: readonly OutboxRecord[]) => Promise<LockedBatchOutcome>,
  ): Promise<OutboxRecord[]>;
  /**
   * Marks records published and ends their lease. One statement per call.
   * With `fence`, refused as a whole (`StaleFencingTokenError`, nothing
   * marked) when the store has seen a newer token for the fence's lock.
   */
  markPublished(ids: readonly string[], now: Date, fence?: Fence): Promise<void>;
  /**
   * Records failures (never downgrades a `published` record) and ends their
   * lease. `fence` as in {@link OutboxStore.markPublished}.
   */
  markFailed(failures: readonly OutboxFailure[], now: Date, fence?: Fence): Promise<void>;
  /**
   * Ends the lease of claimed records without counting an attempt (graceful
   * stop). `fence` as in {@link OutboxStore.markPublished}: a stale relay
   * must not end leases that a newer holder may have written.
   */
  release(ids: readonly string[], fence?: Fence): Promise<void>;
  /** Deletes up to `limit` `published` records published before `before`; returns how many. */
  deleteExpired(before: Date, limit: number): Promise<number>;
  /** Subscribes to "new records committed" wake-ups where the engine has them; returns an unsubscribe. */
  onWake?(listener: () => void): () => void;
  /**
   * True while `onWake` fires for every commit of records added through this
   * store, this process's own commits included (PostgreSQL: `NOTIFY` sent by
   * the insert and `LISTEN` in effect). The relay then waits for that signal
   * after a publish inside the caller's transaction instead of looking again
   * a few times in case it committed. Absent or false: it looks.
   */
  wakesOnCommit?(): boolean;
  /** Operators: list records. */
  list(query: RecordQuery): Promise<OutboxRecord[]>;
  /** Operators: make `failed`/`dead` records pending and due now; returns how many changed. */
  requeue(ids: readonly string[], now: Date): Promise<number>;
  /** Operators: delete records by id (any status); returns how many were deleted. Optional. */
  purge?(ids: readonly string[]): Promise<number>;
  /**
   * Unpublished records (delayed ones included) and since when the oldest
   * has been waiting (metrics, health probes' relay lag): its creation time,
   * or for a `pending` record with a `nextAttemptAt` (a delayed publish, a
   * requeue) that time. A delayed record not yet due is not waiting: it does
   * not set `oldestCreatedAt`.
   */
  backlog?(): Promise<{
    /** Records not yet published nor dead (`pending` and `failed`, delayed ones included). */
    pending: number;
    /** Since when the oldest waiting record has waited; `null` when none is waiting. */
    oldestCreatedAt: Date | null;
  }>;
  /** Releases connections the store opened itself (never the user's client). */
  close?(): Promise<void>;
}
