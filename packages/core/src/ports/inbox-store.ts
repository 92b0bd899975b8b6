import type { WireMessage } from '../wire.js';
import type { Fence } from './outbox-store.js';
import type { ErrorEntry, RecordQuery } from './records.js';

/** Life of an inbox entry for one (message, handler) pair. */
export type InboxStatus = 'processing' | 'processed' | 'failed' | 'dead';

/** Identifies one handling: a message id and the handler's stable name. */
export interface InboxKey {
  /** The message's id (the envelope's `id`): the same for every redelivery of one published message. */
  readonly messageId: string;
  /** The handler's registered name: one message gets one entry per handler that handles it. */
  readonly handler: string;
}

/** Result of {@link InboxStore.tryBegin}. */
export type BeginResult =
  /** The caller owns this handling now. */
  | 'begun'
  /** Already handled, or owned by the persistent retry queue: acknowledge and skip. */
  | 'duplicate'
  /** Another consumer is handling it right now (live lease): redeliver later. */
  | 'busy';

/** One handling to begin: the key, what to record, and the lease when it is not inside a transaction. */
export interface InboxBegin extends InboxKey {
  /** The event's name, stored for operators' lists and dead-letter reasons. */
  readonly eventName: string;
  /** The message's ordering key; `null` when it has none (no ordering with other messages). */
  readonly orderingKey: string | null;
  /**
   * How long (ms from `now`) the `processing` entry belongs to this caller; once
   * it has passed, another consumer may take over the handling.
   */
  readonly leaseMs: number;
  /** The caller's clock: stored as the arrival time and the start of the lease. */
  readonly now: Date;
}

/** A handler's chain of messages with one ordering key. */
export interface InboxChain {
  /** The handler's registered name. */
  readonly handler: string;
  /** The ordering key shared by the chain's messages. */
  readonly orderingKey: string;
}

/** A healthy message stored to wait behind an earlier, failed message of its key (a parked key). */
export interface InboxParking extends InboxKey {
  /** The event's name, stored for operators' lists. */
  readonly eventName: string;
  /** The parked chain's ordering key (a message without one is never parked). */
  readonly orderingKey: string;
  /** The message as received, kept so the retry processor can run it later. */
  readonly message: WireMessage;
}

/** One inbox row. */
export interface InboxRecord extends InboxKey {
  /** The event's name. */
  readonly eventName: string;
  /** The message's ordering key; `null` when it has none. */
  readonly orderingKey: string | null;
  /** Arrival order within the store. */
  readonly sequence: number;
  /** Where the handling stands (see {@link InboxStatus}). */
  readonly status: InboxStatus;
  /** Failed handlings that were persisted. */
  readonly attempts: number;
  /** When the entry was first stored (the first delivery, or the failure or parking that stored it). */
  readonly receivedAt: Date;
  /** When a `failed` entry is due for its next retry; `null` while processing, once processed, and when dead. */
  readonly nextAttemptAt: Date | null;
  /**
   * The latest failure's description (`name: message`, or `code: message` for a
   * HeraldError), or why the entry waits (parked, held); `null` when it never failed.
   */
  readonly lastError: string | null;
  /** Recent failures, oldest first (stores keep a bounded number; optional). */
  readonly errorHistory?: readonly ErrorEntry[];
  /** The message, kept while a retry is pending (null once processed). */
  readonly message: WireMessage | null;
}

/** A handling that failed (or must wait behind an earlier message of its key). */
export interface InboxFailure extends InboxKey {
  /** The event's name. */
  readonly eventName: string;
  /** The message's ordering key; `null` when it has none. */
  readonly orderingKey: string | null;
  /** The message as received, kept for the retries (and for operators once dead). */
  readonly message: WireMessage;
  /** Persisted failures so far, this one included (0 for a message stored to wait without running). */
  readonly attempts: number;
  /** Why it failed or waits, as stored in `lastError` (a short description, no stack). */
  readonly error: string;
  /** When to try again; `null` makes the entry `dead`. */
  readonly nextAttemptAt: Date | null;
}

/** Ask for the due inbox entries to retry (the inbox's counterpart of the outbox's `ClaimRequest`). */
export interface InboxClaimRequest {
  /** At most this many entries are claimed. */
  readonly limit: number;
  /** The claim is exclusive until `now + leaseMs`; after that another processor may take it. */
  readonly leaseMs: number;
  /** Identifies the claiming processor (diagnostics). */
  readonly owner: string;
  /** The caller's clock: decides which entries are due and which leases have expired. */
  readonly now: Date;
  /** Only entries of these handlers: a bus never claims entries of handlers it does not have. */
  readonly handlers?: readonly string[];
  /**
   * The caller holds this lock (the retry processor's): the store raises its
   * newest token for the lock to this one, and refuses the claim
   * (`StaleFencingTokenError`, nothing claimed) when it has already seen a
   * newer one — as for the outbox's `ClaimRequest.fence`. A stale claim that
   * races the newer holder's first claim may instead come back empty.
   */
  readonly fence?: Fence;
}

/**
 * The port an inbox database adapter implements. The inbox absorbs duplicate
 * deliveries and keeps failed handlings for persistent retries. When the
 * handler writes through `tx`, its side effects and the inbox row commit
 * together: effectively-once.
 *
 * The claim rule for retries mirrors the outbox: an entry is claimable when
 * it is `failed` with `nextAttemptAt <= now` (or `processing` with an expired
 * lease) and no entry of the same handler and ordering key with a lower
 * sequence is unfinished (`processing`, `failed` or leased).
 */
export interface InboxStore {
  /** Engine name for logs, e.g. `prisma-postgresql`, `mongodb`, `memory`. */
  readonly name: string;
  /**
   * Identity of the database (ABP's DatabaseName): part of lock keys, and an
   * inbox shares handler transactions with the outbox of the same name.
   */
  readonly databaseName: string;
  /** True when `tx` from {@link transaction} makes handler writes and inbox writes atomic. */
  readonly transactional: boolean;
  /** Durable across process restarts (false for the in-memory store). */
  readonly durable: boolean;
  /** Runs `work` in a database transaction of this store; `tx` is handed to handlers. */
  transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T>;
  /**
   * Starts handling: inserts a `processing` entry with a lease of `leaseMs`.
   * Returns `duplicate` for processed/failed/dead entries, `busy` under a live
   * lease, and takes over a `processing` entry whose lease expired.
   */
  tryBegin(key: InboxBegin, tx?: unknown): Promise<BeginResult>;
  /**
   * {@link tryBegin} for a batch (group commit): one result per entry, in input
   * order, with the same meaning. The keys of one call are distinct. Stores
   * recognise new entries in one statement (duplicates may take a second look
   * each): inside `tx` a new entry becomes visible only when `tx` commits, and
   * a concurrent transaction beginning the same key waits for that outcome.
   */
  beginMany(entries: readonly InboxBegin[], tx?: unknown): Promise<BeginResult[]>;
  /**
   * Marks the entry processed (inside the handler's transaction). With `fence`
   * (the inbox retry processor under a lock), refused (`StaleFencingTokenError`,
   * nothing marked) once the store has seen a newer token for the fence's
   * lock: inside `tx`, the refusal rolls the handler's effects back, so a
   * processor paused past its lock never commits a handling a newer holder
   * may be running too.
   */
  complete(key: InboxKey, now: Date, tx?: unknown, fence?: Fence): Promise<void>;
  /** Stores a failure or a waiting message (upsert), outside any handler transaction. */
  fail(failure: InboxFailure, now: Date): Promise<void>;
  /**
   * For each chain, whether it is parked: the handler has a `failed` entry with
   * this ordering key. One result per chain, in input order; one query per call.
   */
  blockedChains(chains: readonly InboxChain[]): Promise<boolean[]>;
  /**
   * Stores a healthy message behind a parked chain: `failed` with no attempt
   * counted, due now, so the retry processor runs it once the earlier entry is
   * finished (the claim rule keeps the order). An existing entry is left as it is.
   */
  park(parking: InboxParking, now: Date): Promise<void>;
  /**
   * Leases due entries for the retry processor, in sequence order (see the
   * claim rule). With `handlers`, only entries of those handlers: a bus never
   * claims entries of handlers it does not have (services sharing a table).
   * With `fence`, refused (`StaleFencingTokenError`, nothing leased) once the
   * store has seen a newer token for the fence's lock.
   */
  claimDue(request: InboxClaimRequest): Promise<InboxRecord[]>;
  /** Deletes up to `limit` processed entries older than `before`; returns how many. */
  deleteExpired(before: Date, limit: number): Promise<number>;
  /** Operators: list entries. */
  list(query: RecordQuery & { handler?: string }): Promise<InboxRecord[]>;
  /** Operators: make failed/dead entries due now; returns how many changed. */
  requeue(keys: readonly InboxKey[], now: Date): Promise<number>;
  /** Operators: delete entries (a purged entry no longer deduplicates its message). Optional. */
  purge?(keys: readonly InboxKey[]): Promise<number>;
  /** Releases connections the store opened itself (never the user's client). */
  close?(): Promise<void>;
}
