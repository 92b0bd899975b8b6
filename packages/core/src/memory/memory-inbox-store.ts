import { ConfigurationError } from '../errors.js';
import type {
  BeginResult,
  InboxBegin,
  InboxChain,
  InboxClaimRequest,
  InboxFailure,
  InboxKey,
  InboxParking,
  InboxRecord,
  InboxStore,
} from '../ports/inbox-store.js';
import type { Fence } from '../ports/outbox-store.js';
import type { ErrorEntry, RecordQuery } from '../ports/records.js';
import { PARKED_REASON } from '../receive/parking.js';
import type { WireMessage } from '../wire.js';
import { isMemoryTransaction, MemoryDatabase, type MemoryTransaction } from './memory-database.js';
import { MemoryFences } from './memory-fences.js';

/** Failures kept per record. */
const ERROR_HISTORY = 20;

interface Row {
  messageId: string;
  handler: string;
  eventName: string;
  orderingKey: string | null;
  sequence: number;
  status: InboxRecord['status'];
  attempts: number;
  receivedAt: Date;
  nextAttemptAt: Date | null;
  lastError: string | null;
  errorHistory: ErrorEntry[];
  message: WireMessage | null;
  leaseUntil: number;
  updatedAt: Date;
}

const keyOf = (key: InboxKey) => `${key.handler}\u0000${key.messageId}`;

/**
 * InboxStore in process memory, transactional against its {@link MemoryDatabase}
 * (handler writes through `tx` and the inbox entry commit together). Not
 * durable: a crash forgets pending retries.
 */
export class MemoryInboxStore implements InboxStore {
  /** Engine name for logs: `memory`. */
  readonly name = 'memory';
  /** The memory database's name: handlers share `tx` with an outbox of the same name. */
  readonly databaseName: string;
  readonly transactional = true;
  readonly durable = false;
  /** The memory database whose transactions (`tx`) this inbox joins. */
  readonly database: MemoryDatabase;
  readonly #rows = new Map<string, Row>();
  /** Newest fencing token per retry-processor lock. */
  readonly #fences = new MemoryFences();
  #sequence = 0;

  constructor(options: { database?: MemoryDatabase } = {}) {
    this.database = options.database ?? new MemoryDatabase();
    this.databaseName = this.database.name;
  }

  transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T> {
    return this.database.transaction(work);
  }

  async beginMany(entries: readonly InboxBegin[], tx?: unknown): Promise<BeginResult[]> {
    const results: BeginResult[] = [];
    for (const entry of entries) results.push(await this.tryBegin(entry, tx));
    return results;
  }

  async tryBegin(key: InboxBegin, tx?: unknown): Promise<BeginResult> {
    const transaction = this.#tx(tx);
    const id = keyOf(key);
    const existing = this.#rows.get(id);
    const now = key.now.getTime();
    if (existing) {
      if (existing.status !== 'processing') return 'duplicate';
      if (existing.leaseUntil > now) return 'busy';
      const previousLease = existing.leaseUntil;
      existing.leaseUntil = now + key.leaseMs; // take over an abandoned handling
      transaction?.onRollback(() => {
        existing.leaseUntil = previousLease;
      });
      return 'begun';
    }
    const row: Row = {
      messageId: key.messageId,
      handler: key.handler,
      eventName: key.eventName,
      orderingKey: key.orderingKey,
      sequence: ++this.#sequence,
      status: 'processing',
      attempts: 0,
      receivedAt: key.now,
      nextAttemptAt: null,
      lastError: null,
      errorHistory: [],
      message: null,
      leaseUntil: now + key.leaseMs,
      updatedAt: key.now,
    };
    // Reserve at once so a concurrent duplicate sees it; undo if the transaction rolls back.
    this.#rows.set(id, row);
    transaction?.onRollback(() => {
      if (this.#rows.get(id) === row && row.status === 'processing') this.#rows.delete(id);
    });
    return 'begun';
  }

  async complete(key: InboxKey, now: Date, tx?: unknown, fence?: Fence): Promise<void> {
    this.#fences.check(fence);
    const transaction = this.#tx(tx);
    const apply = () => {
      const row = this.#rows.get(keyOf(key));
      if (!row) return;
      row.status = 'processed';
      row.message = null;
      row.leaseUntil = 0;
      row.updatedAt = now;
      row.nextAttemptAt = null;
    };
    if (transaction) transaction.onCommit(apply);
    else apply();
  }

  async fail(failure: InboxFailure, now: Date): Promise<void> {
    const id = keyOf(failure);
    const existing = this.#rows.get(id);
    if (existing?.status === 'processed') return;
    const row: Row = existing ?? {
      messageId: failure.messageId,
      handler: failure.handler,
      eventName: failure.eventName,
      orderingKey: failure.orderingKey,
      sequence: ++this.#sequence,
      status: 'failed',
      attempts: 0,
      receivedAt: now,
      nextAttemptAt: null,
      lastError: null,
      errorHistory: [],
      message: null,
      leaseUntil: 0,
      updatedAt: now,
    };
    row.status = failure.nextAttemptAt === null ? 'dead' : 'failed';
    row.attempts = failure.attempts;
    row.lastError = failure.error;
    row.errorHistory = [...row.errorHistory, { at: now, error: failure.error }].slice(-ERROR_HISTORY);
    row.nextAttemptAt = failure.nextAttemptAt;
    row.message = failure.message;
    row.leaseUntil = 0;
    row.updatedAt = now;
    this.#rows.set(id, row);
  }

  async blockedChains(chains: readonly InboxChain[]): Promise<boolean[]> {
    const parked = new Set<string>();
    for (const row of this.#rows.values()) {
      if (row.status === 'failed' && row.orderingKey !== null)
        parked.add(`${row.handler}\u0000${row.orderingKey}`);
    }
    return chains.map((chain) => parked.has(`${chain.handler}\u0000${chain.orderingKey}`));
  }

  async park(parking: InboxParking, now: Date): Promise<void> {
    if (this.#rows.has(keyOf(parking))) return;
    this.#rows.set(keyOf(parking), {
      messageId: parking.messageId,
      handler: parking.handler,
      eventName: parking.eventName,
      orderingKey: parking.orderingKey,
      sequence: ++this.#sequence,
      status: 'failed',
      attempts: 0,
      receivedAt: now,
      nextAttemptAt: now,
      lastError: PARKED_REASON,
      errorHistory: [],
      message: parking.message,
      leaseUntil: 0,
      updatedAt: now,
    });
  }

  async claimDue(request: InboxClaimRequest): Promise<InboxRecord[]> {
    this.#fences.enter(request.fence);
    const now = request.now.getTime();
    const handlers = request.handlers ? new Set(request.handlers) : undefined;
    const rows = [...this.#rows.values()].filter(
      (row) =>
        (row.status === 'failed' || row.status === 'processing') && (!handlers || handlers.has(row.handler)),
    );
    rows.sort((a, b) => a.sequence - b.sequence);
    const blocked = new Set<string>();
    const claimed: InboxRecord[] = [];
    for (const row of rows) {
      if (claimed.length >= request.limit) break;
      const chain = row.orderingKey === null ? undefined : `${row.handler}\u0000${row.orderingKey}`;
      const isBlocked = chain !== undefined && blocked.has(chain);
      if (chain !== undefined) blocked.add(chain);
      if (isBlocked || row.leaseUntil > now) continue;
      if (row.status === 'processing' && row.message === null) continue; // the broker still holds it
      if (row.status === 'failed' && (row.nextAttemptAt?.getTime() ?? 0) > now) continue;
      row.leaseUntil = now + request.leaseMs;
      claimed.push(toRecord(row));
    }
    return claimed;
  }

  async deleteExpired(before: Date, limit: number): Promise<number> {
    let deleted = 0;
    for (const [id, row] of this.#rows) {
      if (deleted >= limit) break;
      if (row.status === 'processed' && row.updatedAt < before) {
        this.#rows.delete(id);
        deleted++;
      }
    }
    return deleted;
  }

  async list(query: RecordQuery & { handler?: string }): Promise<InboxRecord[]> {
    return [...this.#rows.values()]
      .sort((a, b) => a.sequence - b.sequence)
      .filter((row) => (query.status ? row.status === query.status : true))
      .filter((row) => (query.eventName ? row.eventName === query.eventName : true))
      .filter((row) => (query.handler ? row.handler === query.handler : true))
      .filter((row) => (query.before ? row.receivedAt < query.before : true))
      .slice(0, query.limit ?? 100)
      .map(toRecord);
  }

  async requeue(keys: readonly InboxKey[], now: Date): Promise<number> {
    let changed = 0;
    for (const key of keys) {
      const row = this.#rows.get(keyOf(key));
      if (!row || (row.status !== 'failed' && row.status !== 'dead')) continue;
      row.status = 'failed';
      row.attempts = 0;
      row.nextAttemptAt = now;
      row.leaseUntil = 0;
      changed++;
    }
    return changed;
  }

  async purge(keys: readonly InboxKey[]): Promise<number> {
    let deleted = 0;
    for (const key of keys) if (this.#rows.delete(keyOf(key))) deleted++;
    return deleted;
  }

  #tx(tx: unknown): MemoryTransaction | undefined {
    if (tx === undefined) return undefined;
    if (!isMemoryTransaction(tx) || tx.database !== this.database) {
      throw new ConfigurationError(
        'The in-memory inbox can only join transactions of its own MemoryDatabase. ' +
          'To publish in your database transaction, configure an event log for that database with useEventLog().',
      );
    }
    return tx;
  }
}

function toRecord(row: Row): InboxRecord {
  return {
    messageId: row.messageId,
    handler: row.handler,
    eventName: row.eventName,
    orderingKey: row.orderingKey,
    sequence: row.sequence,
    status: row.status,
    attempts: row.attempts,
    receivedAt: row.receivedAt,
    nextAttemptAt: row.nextAttemptAt,
    lastError: row.lastError,
    errorHistory: [...row.errorHistory],
    message: row.message,
  };
}
