import {
  type BeginResult,
  type Fence,
  type InboxBegin,
  type InboxChain,
  type InboxClaimRequest,
  type InboxFailure,
  type InboxKey,
  type InboxParking,
  type InboxRecord,
  type InboxStore,
  MalformedMessageError,
  PARKED_REASON,
  type RecordQuery,
} from '@herald/core';
import { chunks, claimRows, deleteOldest, execute, noEarlierRow, query, whereOf } from './dialect.js';
import { FenceTable } from './fencing.js';
import type { StoreSettings } from './options.js';
import { asExecutor, type SqlExecutor } from './prisma-client.js';
import {
  errorHistoryLine,
  INBOX_COLUMNS,
  type InboxRow,
  MAX_ERROR_HISTORY,
  toInboxRecord,
  truncateError,
} from './records.js';

const UNFINISHED = `('processing', 'failed')`;
/** (handler, message) pairs per requeue statement. */
const KEY_CHUNK = 500;

const BEGIN_COLUMNS = [
  'message_id',
  'handler',
  'event_name',
  'ordering_key',
  'status',
  'attempts',
  'received_at',
  'updated_at',
  'lease_until',
] as const;

const FAIL_COLUMNS = [
  'message_id',
  'handler',
  'event_name',
  'ordering_key',
  'status',
  'attempts',
  'received_at',
  'updated_at',
  'next_attempt_at',
  'lease_until',
  'last_error',
  'headers',
  'body',
  'error_history',
] as const;

/** Columns `fail` overwrites on an existing entry besides status (which MariaDB/MySQL must assign last). */
const FAIL_UPDATES = ['attempts', 'last_error', 'next_attempt_at', 'headers', 'body', 'updated_at'] as const;

const inboxKey = (key: InboxKey) => `${key.handler}\u0000${key.messageId}`;

/**
 * InboxStore on Prisma. `transaction()` is the user's `prisma.$transaction`,
 * so a handler writing through `ctx.tx` commits its side effects together
 * with the inbox entry: effectively once.
 */
export class PrismaInboxStore implements InboxStore {
  /** Engine name for logs: `prisma-<provider>` (e.g. `prisma-postgresql`). */
  readonly name: string;
  /** Identity of the database (option `databaseName`, default the provider): part of lock keys. */
  readonly databaseName: string;
  readonly transactional = true;
  readonly durable = true;
  readonly #s: StoreSettings;
  readonly #table: string;
  /** The retry processor's lock tokens, in the same `<prefix>fences` table as the relay's (keyed by lock). */
  readonly #fences: FenceTable;
  readonly #beganProcessed = new WeakMap<object, Set<string>>();

  constructor(settings: StoreSettings) {
    this.#s = settings;
    this.name = `prisma-${settings.provider}`;
    this.databaseName = settings.databaseName;
    this.#table = settings.dialect.quote(settings.names.inbox);
    this.#fences = new FenceTable(settings.dialect, settings.dialect.quote(settings.names.fences));
  }

  transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T> {
    return this.#s.prisma.$transaction(work, this.#s.transaction);
  }

  async beginMany(entries: readonly InboxBegin[], tx?: unknown): Promise<BeginResult[]> {
    for (const entry of entries) checkKey(entry);
    const db = asExecutor(tx, this.#s.prisma);
    const { dialect } = this.#s;
    const transactional = isTransaction(tx);
    // New entries in one statement; the rows it returns are the ones it inserted.
    const inserted = new Set<string>();
    for (const part of chunks(entries, KEY_CHUNK)) {
      const insert = dialect.insertIgnoring(this.#table, BEGIN_COLUMNS, part.length, [
        'handler',
        'message_id',
      ]);
      const rows = await query<{ handler: string; message_id: string }>(
        db,
        dialect,
        `${insert} RETURNING handler, message_id`,
        part.flatMap((entry) => beginValues(entry, transactional)),
      );
      for (const row of rows) inserted.add(inboxKey({ handler: row.handler, messageId: row.message_id }));
    }
    const results: BeginResult[] = [];
    for (const entry of entries) {
      if (inserted.has(inboxKey(entry))) {
        if (transactional) this.#completedIn(tx as object).add(inboxKey(entry));
        results.push('begun');
      } else {
        // Seen before (a duplicate, or an abandoned handling to take over): the rare path.
        results.push(await this.#beginExisting(entry, db));
      }
    }
    return results;
  }

  async tryBegin(key: InboxBegin, tx?: unknown): Promise<BeginResult> {
    checkKey(key);
    const db = asExecutor(tx, this.#s.prisma);
    const { dialect } = this.#s;
    // Inside the handler's transaction the entry is written as processed at once: it becomes
    // visible only when the handler's work commits, and a rollback removes it, so `complete`
    // has nothing left to do (one statement less per message). Without a transaction the
    // entry is `processing` under a lease until `complete`.
    const transactional = isTransaction(tx);
    // A concurrent transaction holding the same key makes this wait until it commits or rolls back.
    const inserted = await execute(
      db,
      dialect,
      dialect.insertIgnoring(this.#table, BEGIN_COLUMNS, 1, ['handler', 'message_id']),
      beginValues(key, transactional),
    );
    if (inserted > 0) {
      if (transactional) this.#completedIn(tx as object).add(inboxKey(key));
      return 'begun';
    }
    return this.#beginExisting(key, db);
  }

  /** An entry that exists already: take over an abandoned handling, or say why not. */
  async #beginExisting(key: InboxBegin, db: SqlExecutor): Promise<BeginResult> {
    const { dialect } = this.#s;
    const now = key.now.getTime();
    const takenOver = await execute(
      db,
      dialect,
      `UPDATE ${this.#table} SET lease_until = ?, lease_owner = NULL, updated_at = ?
       WHERE handler = ? AND message_id = ? AND status = 'processing' AND lease_until <= ?`,
      [now + key.leaseMs, now, key.handler, key.messageId, now],
    );
    if (takenOver > 0) return 'begun';
    const [row] = await query<{ status: string }>(
      db,
      dialect,
      `SELECT status FROM ${this.#table} WHERE handler = ? AND message_id = ?`,
      [key.handler, key.messageId],
    );
    // No row: a concurrent handling rolled back in between; let the broker redeliver.
    if (!row || row.status === 'processing') return 'busy';
    return 'duplicate';
  }

  async complete(key: InboxKey, now: Date, tx?: unknown, fence?: Fence): Promise<void> {
    if (!fence && tx !== null && typeof tx === 'object' && this.#completedIn(tx).delete(inboxKey(key)))
      return;
    const executor = asExecutor(tx, this.#s.prisma);
    // The guard rides in the statement (one index lookup); a fenced mark that changed nothing
    // met a newer token, or an entry already marked: the check tells which.
    const guard = this.#fences.guard(fence);
    const marked = await execute(
      executor,
      this.#s.dialect,
      `UPDATE ${this.#table} SET status = 'processed', updated_at = ?, next_attempt_at = NULL,
         lease_until = 0, lease_owner = NULL, headers = NULL, body = NULL
       WHERE handler = ? AND message_id = ? AND ${guard.sql}`,
      [now.getTime(), key.handler, key.messageId, ...guard.params],
    );
    if (marked === 0) await this.#fences.check(executor, fence);
  }

  /** Keys this store wrote as processed inside a transaction (see tryBegin). */
  #completedIn(tx: object): Set<string> {
    let keys = this.#beganProcessed.get(tx);
    if (!keys) {
      keys = new Set();
      this.#beganProcessed.set(tx, keys);
    }
    return keys;
  }

  async fail(failure: InboxFailure, now: Date): Promise<void> {
    checkKey(failure);
    const { dialect } = this.#s;
    const at = now.getTime();
    const insert = dialect.insert(this.#table, FAIL_COLUMNS, 1);
    const history = dialect.provider === 'postgresql' ? `${this.#table}.error_history` : 'error_history';
    const assignments = (incoming: (column: string) => string): Array<[string, string]> => [
      ...FAIL_UPDATES.map((column): [string, string] => [column, incoming(column)]),
      ['error_history', dialect.appendCapped(history, incoming('error_history'), MAX_ERROR_HISTORY)],
      ['lease_until', '0'],
      ['lease_owner', 'NULL'],
      ['status', incoming('status')],
    ];
    // An entry that was processed meanwhile stays processed. MariaDB/MySQL have no WHERE on
    // ON DUPLICATE KEY UPDATE and assign left to right, hence IF(…) per column and status last.
    const upsert =
      dialect.provider === 'mysql'
        ? `${insert} ON DUPLICATE KEY UPDATE ${assignments((c) => `VALUES(${c})`)
            .map(([column, value]) => `${column} = IF(status = 'processed', ${column}, ${value})`)
            .join(', ')}`
        : `${insert} ON CONFLICT (handler, message_id) DO UPDATE SET ${assignments((c) => `excluded.${c}`)
            .map(([column, value]) => `${column} = ${value}`)
            .join(', ')} WHERE ${this.#table}.status <> 'processed'`;
    await execute(this.#s.prisma, dialect, upsert, [
      failure.messageId,
      failure.handler,
      failure.eventName,
      failure.orderingKey,
      failure.nextAttemptAt === null ? 'dead' : 'failed',
      failure.attempts,
      at,
      at,
      failure.nextAttemptAt?.getTime() ?? null,
      0,
      truncateError(failure.error),
      JSON.stringify(failure.message.headers),
      failure.message.body,
      errorHistoryLine(now, failure.error),
    ]);
  }

  async blockedChains(chains: readonly InboxChain[]): Promise<boolean[]> {
    if (chains.length === 0) return [];
    const parked = new Set<string>();
    for (const part of chunks(chains, KEY_CHUNK)) {
      const rows = await query<{ handler: string; ordering_key: string }>(
        this.#s.reader,
        this.#s.dialect,
        `SELECT DISTINCT handler, ordering_key FROM ${this.#table}
         WHERE status = 'failed' AND (${part.map(() => '(handler = ? AND ordering_key = ?)').join(' OR ')})`,
        part.flatMap((chain) => [chain.handler, chain.orderingKey]),
      );
      for (const row of rows) parked.add(`${row.handler}\u0000${row.ordering_key}`);
    }
    return chains.map((chain) => parked.has(`${chain.handler}\u0000${chain.orderingKey}`));
  }

  async park(parking: InboxParking, now: Date): Promise<void> {
    checkKey(parking);
    const { dialect } = this.#s;
    const at = now.getTime();
    await execute(
      this.#s.prisma,
      dialect,
      dialect.insertIgnoring(this.#table, FAIL_COLUMNS, 1, ['handler', 'message_id']),
      [
        parking.messageId,
        parking.handler,
        parking.eventName,
        parking.orderingKey,
        'failed',
        0,
        at,
        at,
        at,
        0,
        PARKED_REASON,
        JSON.stringify(parking.message.headers),
        parking.message.body,
        errorHistoryLine(now, PARKED_REASON),
      ],
    );
  }

  async claimDue(request: InboxClaimRequest): Promise<InboxRecord[]> {
    const now = request.now.getTime();
    if (request.handlers && request.handlers.length === 0) return [];
    await this.#fences.enter(this.#s.prisma, request.fence);
    // The guard makes the token check and the lease one statement: a processor that already
    // entered under an older token claims nothing once a newer holder raised the row.
    const guard = this.#fences.guard(request.fence);
    // Only this bus's handlers: services sharing the table never take each other's entries.
    const handlerFilter = request.handlers
      ? `AND o.handler IN (${request.handlers.map(() => '?').join(', ')})`
      : '';
    // A `processing` entry whose lease expired is retried only when its message was stored;
    // otherwise the broker still holds the message and redelivers it.
    const where = `o.status IN ${UNFINISHED}
      AND o.lease_until <= ?
      AND ((o.status = 'failed' AND COALESCE(o.next_attempt_at, 0) <= ?) OR (o.status = 'processing' AND o.headers IS NOT NULL))
      ${handlerFilter}
      AND (o.ordering_key IS NULL OR ${noEarlierRow(
        this.#s.dialect,
        this.#table,
        'b.handler = o.handler AND b.ordering_key = o.ordering_key',
        ['processing', 'failed'],
      )})
      AND ${guard.sql}`;
    const rows = await claimRows<InboxRow>({
      prisma: this.#s.prisma,
      dialect: this.#s.dialect,
      table: this.#table,
      columns: INBOX_COLUMNS,
      where,
      whereParams: [now, now, ...(request.handlers ?? []), ...guard.params],
      limit: request.limit,
      leaseUntil: now + request.leaseMs,
      owner: request.owner,
      transaction: this.#s.transaction,
    });
    return rows.map(toInboxRecord);
  }

  async deleteExpired(before: Date, limit: number): Promise<number> {
    return deleteOldest(this.#s, this.#table, `status = 'processed' AND updated_at < ?`, 'updated_at', [
      before.getTime(),
      limit,
    ]);
  }

  async list(request: RecordQuery & { handler?: string }): Promise<InboxRecord[]> {
    const { where, params } = whereOf([
      ['status = ?', request.status],
      ['event_name = ?', request.eventName],
      ['handler = ?', request.handler],
      ['received_at < ?', request.before?.getTime()],
    ]);
    const rows = await query<InboxRow>(
      this.#s.reader,
      this.#s.dialect,
      `SELECT ${INBOX_COLUMNS} FROM ${this.#table} ${where} ORDER BY sequence LIMIT ?`,
      [...params, request.limit ?? 100],
    );
    return rows.map(toInboxRecord);
  }

  async requeue(keys: readonly InboxKey[], now: Date): Promise<number> {
    let changed = 0;
    for (const part of chunks(keys, KEY_CHUNK)) {
      changed += await execute(
        this.#s.prisma,
        this.#s.dialect,
        `UPDATE ${this.#table} SET status = 'failed', attempts = 0, next_attempt_at = ?, lease_until = 0, lease_owner = NULL
         WHERE status IN ('failed', 'dead') AND (${matchKeys(part.length)})`,
        [now.getTime(), ...keyParams(part)],
      );
    }
    return changed;
  }

  /** Operators: deletes entries; a purged entry no longer deduplicates its message. */
  async purge(keys: readonly InboxKey[]): Promise<number> {
    let deleted = 0;
    for (const part of chunks(keys, KEY_CHUNK)) {
      deleted += await execute(
        this.#s.prisma,
        this.#s.dialect,
        `DELETE FROM ${this.#table} WHERE ${matchKeys(part.length)}`,
        keyParams(part),
      );
    }
    return deleted;
  }
}

const MAX_KEY = 255;

/** True for the `tx` of an interactive transaction (as opposed to none). */
function isTransaction(tx: unknown): boolean {
  return tx !== undefined && typeof tx === 'object' && tx !== null;
}

/** {@link BEGIN_COLUMNS} values: processed at once inside a transaction, leased `processing` outside. */
function beginValues(key: InboxBegin, transactional: boolean): unknown[] {
  const now = key.now.getTime();
  return transactional
    ? [key.messageId, key.handler, key.eventName, key.orderingKey, 'processed', 0, now, now, 0]
    : [
        key.messageId,
        key.handler,
        key.eventName,
        key.orderingKey,
        'processing',
        0,
        now,
        now,
        now + key.leaseMs,
      ];
}

/**
 * The key columns hold 255 characters. Longer values (from a foreign producer's
 * headers) are refused rather than truncated: MariaDB's INSERT IGNORE would
 * truncate silently, and two ids sharing a prefix would then deduplicate each other.
 */
function checkKey(key: InboxKey & { eventName: string; orderingKey: string | null }): void {
  for (const [field, value] of [
    ['message id', key.messageId],
    ['handler name', key.handler],
    ['event name', key.eventName],
    ['ordering key', key.orderingKey],
  ] as const) {
    if (value !== null && value.length > MAX_KEY) {
      throw new MalformedMessageError(
        `The ${field} is longer than ${MAX_KEY} characters: "${value.slice(0, 40)}…"`,
      );
    }
  }
}

/** `(handler = ? AND message_id = ?) OR …` for `count` keys. */
function matchKeys(count: number): string {
  return Array.from({ length: count }, () => '(handler = ? AND message_id = ?)').join(' OR ');
}

function keyParams(keys: readonly InboxKey[]): string[] {
  return keys.flatMap((key) => [key.handler, key.messageId]);
}
