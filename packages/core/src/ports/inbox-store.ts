import type { WireMessage } from '../wire.js';
import type { Fence } from './outbox-store.js';
import type { ErrorEntry, RecordQuery } from './records.js';

/** Life of an inbox entry for one (message, handler) pair. */
export type InboxStatus = 'processing' | 'processed' | 'failed' | 'dead';

/** Identifies one handling: a message id and the handler's stable name. */
export interface InboxKey {
  readonly messageId: string;
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
  readonly eventName: string;
  readonly orderingKey: string | null;
  readonly leaseMs: number;
  readonly now: Date;
}

/** A handler's chain of messages with one ordering key. */
export interface InboxChain {
  readonly handler: string;
  readonly orderingKey: string;
}

/** A healthy message stored to wait behind an earlier, failed message of its key (a parked key). */
export interface InboxParking extends InboxKey {
  readonly eventName: string;
  readonly orderingKey: string;
  readonly message: WireMessage;
}

/** One inbox row. */
export interface InboxRecord extends InboxKey {
  readonly eventName: string;
  readonly orderingKey: string | null;
  /** Arrival order within the store. */
  readonly sequence: number;
  readonly status: InboxStatus;
  /** Failed handlings that were persisted. */
  readonly attempts: number;
  readonly receivedAt: Date;
  readonly nextAttemptAt: Date | null;
  readonly lastError: string | null;
  /** Recent failures, oldest first (stores keep a bounded number; optional). */
  readonly errorHistory?: readonly ErrorEntry[];
  /** The message, kept while a retry is pending (null once processed). */
  readonly message: WireMessage | null;
}

/** A handling that failed (or must wait behind an earlier message of its key). */
export interface InboxFailure extends InboxKey {
  readonly eventName: string;
  readonly orderingKey: string | null;
  readonly message: WireMessage;
  readonly attempts: number;
  readonly error: string;
  /** When to try again; `null` makes the entry `dead`. */
  readonly nextAttemptAt: Date | null;
}

/** Ask for the due inbox entries to retry (the inbox's counterpart of the outbox's `ClaimRequest`). */
export interface InboxClaimRequest {
  readonly limit: number;
  /** The claim is exclusive until `now + leaseMs`; after that another processor may take it. */
  readonly leaseMs: number;
  /** Identifies the claiming processor (diagnostics). */
  readonly owner: string;
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
  readonly name: string;
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
  /** Marks the entry processed (inside the handler's transaction). */
  complete(key: InboxKey, now: Date, tx?: unknown): Promise<void>;
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
  close?(): Promise<void>;
}
