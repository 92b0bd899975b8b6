import { ConfigurationError } from '../errors.js';
import type {
  ClaimRequest,
  Fence,
  LockedBatchOutcome,
  OutboxEntry,
  OutboxFailure,
  OutboxRecord,
  OutboxStore,
} from '../ports/outbox-store.js';
import type { ErrorEntry, RecordQuery } from '../ports/records.js';
import { type WireMessage, withSequence } from '../wire.js';
import { isMemoryTransaction, type MemoryDatabase } from './memory-database.js';
import { MemoryFences } from './memory-fences.js';

/** Failures kept per record. */
const ERROR_HISTORY = 20;

interface Row {
  message: WireMessage;
  sequence: number;
  bucket: number;
  status: OutboxRecord['status'];
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date | null;
  lastError: string | null;
  errorHistory: ErrorEntry[];
  publishedAt: Date | null;
  leaseUntil: number;
}

/**
 * OutboxStore in process memory. Not durable: for the embedded default, demos
 * and tests. It implements the same claim rule as the database stores, so the
 * relay behaves identically on it.
 */
export class MemoryOutboxStore implements OutboxStore {
  readonly name = 'memory';
  readonly databaseName: string;
  readonly transactional = true;
  readonly #database: MemoryDatabase | undefined;
  /** Unfinished rows (pending/failed) in sequence order. */
  readonly #open = new Map<string, Row>();
  /** Published and dead rows. */
  readonly #closed = new Map<string, Row>();
  readonly #listeners = new Set<() => void>();
  /** Ids held by a {@link claimLocked} in progress (the memory store's row locks). */
  readonly #locked = new Set<string>();
  #sequence = 0;
  readonly #fences = new MemoryFences();

  constructor(options: { database?: MemoryDatabase } = {}) {
    this.#database = options.database;
    this.databaseName = options.database?.name ?? 'memory';
  }

  async add(messages: readonly OutboxEntry[], tx?: unknown): Promise<void> {
    if (tx !== undefined) {
      if (!isMemoryTransaction(tx) || (this.#database && tx.database !== this.#database)) {
        throw new ConfigurationError(
          'The in-memory outbox can only join transactions of its own MemoryDatabase. ' +
            'To publish in your database transaction, configure an event log for that database with useEventLog().',
        );
      }
      tx.onCommit(() => this.#insert(messages));
      return;
    }
    this.#insert(messages);
  }

  #insert(messages: readonly OutboxEntry[]): void {
    const createdAt = new Date();
    for (const { message, bucket, nextAttemptAt } of messages) {
      if (this.#open.has(message.id) || this.#closed.has(message.id)) continue; // idempotent re-add
      const sequence = ++this.#sequence;
      this.#open.set(message.id, {
        message: withSequence(message, sequence),
        sequence,
        bucket,
        status: 'pending',
        attempts: 0,
        createdAt,
        nextAttemptAt: nextAttemptAt ?? null,
        lastError: null,
        errorHistory: [],
        publishedAt: null,
        leaseUntil: 0,
      });
    }
    for (const listener of this.#listeners) listener();
  }

  async claim(request: ClaimRequest): Promise<OutboxRecord[]> {
    this.#fenced(request.fence);
    return this.#select(request);
  }

  /** Refuses a token older than the newest seen for its lock; remembers a newer one. */
  #fenced(fence: Fence | undefined): void {
    this.#fences.enter(fence);
  }

  /** The claim rule, synchronous so that a locked claim can lock what it selected before anyone else runs. */
  #select(request: ClaimRequest): OutboxRecord[] {
    const now = request.now.getTime();
    const blocked = new Set<string>();
    const claimed: OutboxRecord[] = [];
    for (const row of this.#open.values()) {
      if (claimed.length >= request.limit) break;
      const key = row.message.orderingKey;
      const keyBlocked = key !== undefined && blocked.has(key);
      if (key !== undefined) blocked.add(key);
      if (keyBlocked || row.leaseUntil > now || this.#locked.has(row.message.id)) continue;
      // A failed record waiting for its retry, or a delayed publish not yet due (both still block their key).
      if ((row.nextAttemptAt?.getTime() ?? 0) > now) continue;
      if (request.shard && row.bucket % request.shard.count !== request.shard.index) continue;
      if (!request.exclusive) row.leaseUntil = now + request.leaseMs;
      claimed.push(toRecord(row));
    }
    return claimed;
  }

  async claimLocked(
    request: ClaimRequest,
    send: (records: readonly OutboxRecord[]) => Promise<LockedBatchOutcome>,
  ): Promise<OutboxRecord[]> {
    this.#fenced(request.fence);
    const records = this.#select({ ...request, exclusive: true });
    if (records.length === 0) return records;
    const ids = records.map((record) => record.message.id);
    for (const id of ids) this.#locked.add(id);
    try {
      const outcome = await send(records);
      // A newer holder may have claimed meanwhile: refused, nothing marked (a transaction's rollback).
      this.#fenced(request.fence);
      await this.markPublished(outcome.published, new Date());
      const leaseUntil = request.now.getTime() + request.leaseMs;
      for (const id of outcome.held) {
        const row = this.#open.get(id);
        if (row) row.leaseUntil = leaseUntil;
      }
      return records;
    } finally {
      for (const id of ids) this.#locked.delete(id);
    }
  }

  async markPublished(ids: readonly string[], now: Date, fence?: Fence): Promise<void> {
    this.#fenced(fence);
    for (const id of ids) {
      const row = this.#open.get(id);
      if (!row) continue;
      row.status = 'published';
      row.publishedAt = now;
      row.leaseUntil = 0;
      this.#open.delete(id);
      this.#closed.set(id, row);
    }
  }

  async markFailed(failures: readonly OutboxFailure[], now: Date, fence?: Fence): Promise<void> {
    this.#fenced(fence);
    for (const failure of failures) {
      const row = this.#open.get(failure.id);
      if (!row) continue; // already published (or dead): never downgrade
      row.attempts += 1;
      row.lastError = failure.error;
      row.errorHistory = [...row.errorHistory, { at: now, error: failure.error }].slice(-ERROR_HISTORY);
      row.leaseUntil = 0;
      row.nextAttemptAt = failure.nextAttemptAt;
      if (failure.nextAttemptAt === null) {
        row.status = 'dead';
        this.#open.delete(failure.id);
        this.#closed.set(failure.id, row);
      } else {
        row.status = 'failed';
      }
    }
  }

  async release(ids: readonly string[], fence?: Fence): Promise<void> {
    this.#fenced(fence);
    for (const id of ids) {
      const row = this.#open.get(id);
      if (row) row.leaseUntil = 0;
    }
  }

  async deleteExpired(before: Date, limit: number): Promise<number> {
    let deleted = 0;
    for (const [id, row] of this.#closed) {
      if (deleted >= limit) break;
      if (row.status === 'published' && row.publishedAt && row.publishedAt < before) {
        this.#closed.delete(id);
        deleted++;
      }
    }
    return deleted;
  }

  /** Records are inserted at their transaction's commit, which wakes the `onWake` listeners then. */
  wakesOnCommit(): boolean {
    return true;
  }

  onWake(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async list(query: RecordQuery): Promise<OutboxRecord[]> {
    const rows = [...this.#open.values(), ...this.#closed.values()].sort((a, b) => a.sequence - b.sequence);
    return rows
      .filter((row) => (query.status ? row.status === query.status : true))
      .filter((row) => (query.eventName ? row.message.name === query.eventName : true))
      .filter((row) => (query.before ? row.createdAt < query.before : true))
      .slice(0, query.limit ?? 100)
      .map(toRecord);
  }

  async requeue(ids: readonly string[], now: Date): Promise<number> {
    let changed = 0;
    for (const id of ids) {
      const closed = this.#closed.get(id);
      const row = closed ?? this.#open.get(id);
      if (!row || (row.status !== 'failed' && row.status !== 'dead')) continue;
      if (closed) {
        // Re-enter the open set in sequence order.
        this.#closed.delete(id);
        const entries = [...this.#open.entries(), [id, row] as [string, Row]].sort(
          (a, b) => a[1].sequence - b[1].sequence,
        );
        this.#open.clear();
        for (const [key, value] of entries) this.#open.set(key, value);
      }
      row.status = 'pending';
      row.attempts = 0;
      row.nextAttemptAt = now;
      row.leaseUntil = 0;
      changed++;
    }
    if (changed > 0) for (const listener of this.#listeners) listener();
    return changed;
  }

  async purge(ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const id of ids) if (this.#open.delete(id) || this.#closed.delete(id)) deleted++;
    return deleted;
  }

  async backlog(): Promise<{
    /** Records not yet published: `pending` (delayed ones included) and `failed`. */
    pending: number;
    /** Since when the oldest due record waits (creation, or due time of a delayed/requeued one); null when none waits. */
    oldestCreatedAt: Date | null;
  }> {
    const now = Date.now();
    let oldest: number | undefined;
    for (const row of this.#open.values()) {
      const since = waitingSince(row);
      if (since <= now && (oldest === undefined || since < oldest)) oldest = since;
    }
    return { pending: this.#open.size, oldestCreatedAt: oldest === undefined ? null : new Date(oldest) };
  }

  /** Number of rows not yet published or dead (for tests and the harness). */
  get pendingCount(): number {
    return this.#open.size;
  }
}

/** Since when an open row waits for the relay: a pending row with a due time (delayed, requeued) from then. */
function waitingSince(row: Row): number {
  return row.status === 'pending' && row.nextAttemptAt
    ? row.nextAttemptAt.getTime()
    : row.createdAt.getTime();
}

function toRecord(row: Row): OutboxRecord {
  return {
    message: row.message,
    sequence: row.sequence,
    bucket: row.bucket,
    status: row.status,
    attempts: row.attempts,
    createdAt: row.createdAt,
    nextAttemptAt: row.nextAttemptAt,
    lastError: row.lastError,
    errorHistory: [...row.errorHistory],
    publishedAt: row.publishedAt,
  };
}
