import {
  type ClaimRequest,
  ConfigurationError,
  type Fence,
  HeraldError,
  type LockedBatchOutcome,
  type OutboxEntry,
  type OutboxFailure,
  type OutboxRecord,
  type OutboxStore,
  type RecordQuery,
} from '@herald/core';
import {
  chunks,
  claimRows,
  deleteOldest,
  execute,
  noEarlierRow,
  placeholders,
  query,
  whereOf,
} from './dialect.js';
import { FenceTable } from './fencing.js';
import type { StoreSettings } from './options.js';
import type { PgListener } from './pg-listener.js';
import type { PgSqlClient } from './pg-sql-client.js';
import { asExecutor, type PrismaClientLike, type SqlExecutor } from './prisma-client.js';
import {
  errorHistoryLine,
  MAX_ERROR_HISTORY,
  type OutboxRow,
  outboxColumns,
  toOutboxRecord,
  truncateError,
} from './records.js';

/** Rows per INSERT (11 parameters each, well under every engine's parameter limit). */
const INSERT_CHUNK = 500;
/** Ids per UPDATE/DELETE statement; a relay batch (`batchSize`, default 1000) is one statement. */
const ID_CHUNK = 1000;
/** Failures per markFailed statement (5 parameters each). */
const FAILURE_CHUNK = 500;

const OPEN = `('pending', 'failed')`;
const INSERT_COLUMNS = [
  'id',
  'name',
  'ordering_key',
  'bucket',
  'headers',
  'body',
  'status',
  'attempts',
  'created_at',
  'next_attempt_at',
  'lease_until',
] as const;

/** PostgreSQL NOTIFY settings of an outbox. */
export interface OutboxNotify {
  /** Channel the insert notifies on commit; undefined: no NOTIFY. */
  readonly channel: string | undefined;
  /** LISTEN side for `onWake`; undefined: no wake-ups from other processes. */
  readonly listener: PgListener | undefined;
}

/**
 * OutboxStore on Prisma: translates the port to SQL on the user's client (or
 * on the `tx` of their interactive transaction). Core decides what to claim,
 * retry and dead-letter; this class only reads and writes rows.
 */
export class PrismaOutboxStore implements OutboxStore {
  readonly name: string;
  readonly databaseName: string;
  readonly transactional = true;
  readonly #s: StoreSettings;
  readonly #table: string;
  /** The columns every read of records selects (the body as this engine reads it cheapest). */
  readonly #columns: string;
  readonly #notify: OutboxNotify;
  readonly #listeners = new Set<() => void>();
  readonly #fences: FenceTable;
  #stopListening: (() => void) | undefined;
  /** A NOTIFY arrived since the last locked claim began: records were committed, so skip the probe. */
  #notified = false;
  /**
   * PostgreSQL and MariaDB: `SELECT … FOR UPDATE SKIP LOCKED` in a READ
   * COMMITTED transaction held while the broker confirms, then the mark in
   * the same transaction. SQLite has no row locks (a write transaction held
   * that long would stop every writer), so it has no `claimLocked`.
   */
  readonly claimLocked?: OutboxStore['claimLocked'];
  /**
   * PostgreSQL with `notify.connectionString`: every insert sends `NOTIFY` at
   * its commit, and this is true while the LISTEN connection hears them.
   * Absent without a listener (the relay then looks again after a publish).
   */
  readonly wakesOnCommit?: () => boolean;

  /** The relay's own pool (`relayConnection`), closed with the store. */
  readonly #relayPool: PgSqlClient | undefined;
  /** Where the relay's claims, marks and releases go: its own pool, or the user's client. */
  readonly #relay: PrismaClientLike;

  constructor(settings: StoreSettings, notify: OutboxNotify, relayPool?: PgSqlClient) {
    this.#s = settings;
    this.#relayPool = relayPool;
    this.#relay = relayPool ?? settings.prisma;
    if (settings.provider !== 'sqlite')
      this.claimLocked = (request, send) => this.#claimLocked(request, send);
    this.name = `prisma-${settings.provider}`;
    this.databaseName = settings.databaseName;
    this.#table = settings.dialect.quote(settings.names.outbox);
    this.#fences = new FenceTable(settings.dialect, settings.dialect.quote(settings.names.fences));
    this.#columns = outboxColumns(settings.provider);
    this.#notify = notify;
    const { channel, listener } = notify;
    if (channel !== undefined && listener) this.wakesOnCommit = () => listener.listening;
  }

  async add(messages: readonly OutboxEntry[], tx?: unknown): Promise<void> {
    if (messages.length === 0) return;
    for (const entry of messages) checkEntry(entry);
    const executor = asExecutor(tx, this.#s.prisma);
    const createdAt = Date.now();
    const parts = chunks(messages, INSERT_CHUNK);
    const insertAll = async (db: SqlExecutor) => {
      for (const part of parts) await this.#insert(db, part, createdAt);
    };
    // Without the caller's transaction, several statements must still commit as one.
    if (tx === undefined && parts.length > 1)
      await this.#s.prisma.$transaction(insertAll, this.#s.transaction);
    else await insertAll(executor);
  }

  async #insert(db: SqlExecutor, part: readonly OutboxEntry[], createdAt: number) {
    const { dialect } = this.#s;
    const params: unknown[] = [];
    for (const { message, bucket, nextAttemptAt } of part) {
      params.push(
        message.id,
        message.name,
        message.orderingKey ?? null,
        bucket,
        JSON.stringify(message.headers),
        message.body,
        'pending',
        0,
        createdAt,
        nextAttemptAt?.getTime() ?? null,
        0,
      );
    }
    const insert = dialect.insertIgnoring(this.#table, INSERT_COLUMNS, part.length, ['id']);
    if (this.#notify.channel === undefined) {
      await execute(db, dialect, insert, params);
      return;
    }
    // NOTIFY in the same statement: PostgreSQL delivers it when the transaction commits, never on rollback.
    await execute(
      db,
      dialect,
      `WITH inserted AS (${insert} RETURNING 1)
       SELECT pg_notify(?, '') FROM (SELECT 1 FROM inserted LIMIT 1) AS any_row`,
      [...params, this.#notify.channel],
    );
  }

  /** The claim rule on rows aliased `o`, with its parameters. */
  #claimable(request: ClaimRequest): { where: string; params: unknown[] } {
    const now = request.now.getTime();
    const params: unknown[] = [now, now];
    // next_attempt_at: a failed record's retry, or a delayed publish (pending) not yet due. Written
    // as IS NULL OR, not COALESCE: the planner estimates it from the column's statistics (an
    // expression gets a fixed 1/3, which made a sharded claim fetch and sort its whole shard).
    let where = `o.status IN ${OPEN}
      AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= ?)
      AND o.lease_until <= ?
      AND (o.ordering_key IS NULL OR ${noEarlierRow(this.#s.dialect, this.#table, 'b.ordering_key = o.ordering_key', ['pending', 'failed'])})`;
    if (request.shard) {
      // The count inlined (an integer): the expression then matches migrate()'s per-shard index.
      const count = Number(request.shard.count);
      if (!Number.isInteger(count) || count < 1) throw new ConfigurationError(`Bad shard count ${count}`);
      where += ` AND o.bucket % ${count} = ?`;
      params.push(request.shard.index);
    }
    if (request.fence) {
      const guard = this.#fences.guard(request.fence);
      where += ` AND ${guard.sql}`;
      params.push(...guard.params);
    }
    return { where, params };
  }

  async #claimLocked(
    request: ClaimRequest,
    send: (records: readonly OutboxRecord[]) => Promise<LockedBatchOutcome>,
  ): Promise<OutboxRecord[]> {
    const { dialect } = this.#s;
    await this.#fences.enter(this.#relay, request.fence);
    const { where, params } = this.#claimable(request);
    // One plain statement when there is nothing to do (idle polls, wake-ups that find nothing),
    // rather than BEGIN, SELECT and COMMIT. After a NOTIFY, records were committed: the probe
    // would only add a round trip before the claim (the low-load latency path).
    const notified = this.#notified;
    this.#notified = false;
    if (!notified) {
      const probe = await query<{ one: unknown }>(
        this.#relay,
        dialect,
        `SELECT 1 AS one FROM ${this.#table} o WHERE ${where} LIMIT 1`,
        params,
      );
      if (probe.length === 0) return [];
    }
    return this.#relay.$transaction(
      async (tx: SqlExecutor) => {
        const rows = await query<OutboxRow>(
          tx,
          dialect,
          `SELECT ${this.#columns} FROM ${this.#table} o WHERE ${where} ORDER BY o.sequence LIMIT ? FOR UPDATE SKIP LOCKED`,
          [...params, request.limit],
        );
        if (rows.length === 0) return [];
        const records = rows.sort((a, b) => Number(a.sequence) - Number(b.sequence)).map(toOutboxRecord);
        const outcome = await send(records);
        // The rows are ours (locked), so a guarded mark that changes fewer of them met a newer token.
        const guard = this.#fences.guard(request.fence);
        for (const part of chunks(outcome.published, ID_CHUNK)) {
          const marked = await execute(
            tx,
            dialect,
            `UPDATE ${this.#table} SET status = 'published', published_at = ?
             WHERE id IN (${placeholders(part.length)}) AND status IN ${OPEN} AND ${guard.sql}`,
            [Date.now(), ...part, ...guard.params],
          );
          if (marked < part.length) await this.#fences.check(tx, request.fence);
        }
        for (const part of chunks(outcome.held, ID_CHUNK)) {
          await execute(
            tx,
            dialect,
            `UPDATE ${this.#table} SET lease_until = ?, lease_owner = ? WHERE id IN (${placeholders(part.length)})`,
            [request.now.getTime() + request.leaseMs, request.owner, ...part],
          );
        }
        return records;
      },
      {
        maxWait: this.#s.transaction.maxWait,
        // The broker's confirms run inside: allow the lease's length, as a leased claim would.
        timeout: Math.max(this.#s.transaction.timeout, request.leaseMs),
        isolationLevel: 'ReadCommitted',
      },
    );
  }

  async claim(request: ClaimRequest): Promise<OutboxRecord[]> {
    await this.#fences.enter(this.#relay, request.fence);
    const now = request.now.getTime();
    const { where, params } = this.#claimable(request);
    const rows = await claimRows<OutboxRow>({
      prisma: this.#relay,
      dialect: this.#s.dialect,
      table: this.#table,
      columns: this.#columns,
      where,
      whereParams: params,
      limit: request.limit,
      leaseUntil: now + request.leaseMs,
      owner: request.owner,
      transaction: this.#s.transaction,
      ...(request.exclusive ? { exclusive: true } : {}),
    });
    return rows.map(toOutboxRecord);
  }

  async markPublished(ids: readonly string[], now: Date, fence?: Fence): Promise<void> {
    await this.#fences.enter(this.#relay, fence);
    const guard = this.#fences.guard(fence);
    for (const part of chunks(ids, ID_CHUNK)) {
      const marked = await execute(
        this.#relay,
        this.#s.dialect,
        `UPDATE ${this.#table} SET status = 'published', published_at = ?, lease_until = 0, lease_owner = NULL
         WHERE id IN (${placeholders(part.length)}) AND status IN ${OPEN} AND ${guard.sql}`,
        [now.getTime(), ...part, ...guard.params],
      );
      if (marked < part.length) await this.#fences.check(this.#relay, fence);
    }
  }

  async markFailed(failures: readonly OutboxFailure[], now: Date, fence?: Fence): Promise<void> {
    await this.#fences.enter(this.#relay, fence);
    const guard = this.#fences.guard(fence);
    const latest = [...new Map(failures.map((failure) => [failure.id, failure])).values()];
    const { dialect } = this.#s;
    for (const part of chunks(latest, FAILURE_CHUNK)) {
      const cases = (value: string) => `CASE id ${part.map(() => `WHEN ? THEN ${value}`).join(' ')} END`;
      const params: unknown[] = [];
      for (const f of part) params.push(f.id, truncateError(f.error));
      for (const f of part) params.push(f.id, f.nextAttemptAt?.getTime() ?? null);
      for (const f of part) params.push(f.id, f.nextAttemptAt === null ? 'dead' : 'failed');
      for (const f of part) params.push(f.id, errorHistoryLine(now, f.error));
      params.push(...part.map((f) => f.id), ...guard.params);
      // `status IN (pending, failed)`: a record another relay already published is never downgraded.
      const marked = await execute(
        this.#relay,
        dialect,
        `UPDATE ${this.#table} SET attempts = attempts + 1,
           last_error = ${cases('?')},
           next_attempt_at = ${cases(dialect.bigint)},
           status = ${cases('?')},
           error_history = ${dialect.appendCapped('error_history', cases(dialect.text), MAX_ERROR_HISTORY)},
           lease_until = 0, lease_owner = NULL
         WHERE id IN (${placeholders(part.length)}) AND status IN ${OPEN} AND ${guard.sql}`,
        params,
      );
      if (marked < part.length) await this.#fences.check(this.#relay, fence);
    }
  }

  async release(ids: readonly string[], fence?: Fence): Promise<void> {
    await this.#fences.enter(this.#relay, fence);
    const guard = this.#fences.guard(fence);
    for (const part of chunks(ids, ID_CHUNK)) {
      const released = await execute(
        this.#relay,
        this.#s.dialect,
        `UPDATE ${this.#table} SET lease_until = 0, lease_owner = NULL
         WHERE id IN (${placeholders(part.length)}) AND status IN ${OPEN} AND ${guard.sql}`,
        [...part, ...guard.params],
      );
      if (released < part.length) await this.#fences.check(this.#relay, fence);
    }
  }

  async deleteExpired(before: Date, limit: number): Promise<number> {
    return deleteOldest(this.#s, this.#table, `status = 'published' AND published_at < ?`, 'published_at', [
      before.getTime(),
      limit,
    ]);
  }

  onWake(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#notify.listener && !this.#stopListening) {
      this.#stopListening = this.#notify.listener.subscribe(() => {
        this.#notified = true;
        this.#wake();
      });
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#stopListening?.();
        this.#stopListening = undefined;
      }
    };
  }

  /** Resolves once the LISTEN connection is up; at once when this store does not listen or no relay subscribed. */
  whenListening(): Promise<void> {
    return this.#notify.listener?.whenListening() ?? Promise.resolve();
  }

  async list(request: RecordQuery): Promise<OutboxRecord[]> {
    const { where, params } = whereOf([
      ['status = ?', request.status],
      ['name = ?', request.eventName],
      ['created_at < ?', request.before?.getTime()],
    ]);
    const rows = await query<OutboxRow>(
      this.#s.reader,
      this.#s.dialect,
      `SELECT ${this.#columns} FROM ${this.#table} ${where} ORDER BY sequence LIMIT ?`,
      [...params, request.limit ?? 100],
    );
    return rows.map(toOutboxRecord);
  }

  async requeue(ids: readonly string[], now: Date): Promise<number> {
    let changed = 0;
    for (const part of chunks(ids, ID_CHUNK)) {
      changed += await execute(
        this.#s.prisma,
        this.#s.dialect,
        `UPDATE ${this.#table} SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0, lease_owner = NULL
         WHERE id IN (${placeholders(part.length)}) AND status IN ('failed', 'dead')`,
        [now.getTime(), ...part],
      );
    }
    if (changed > 0) {
      this.#wake();
      if (this.#notify.channel !== undefined) {
        await execute(this.#s.prisma, this.#s.dialect, `SELECT pg_notify(?, '')`, [this.#notify.channel]);
      }
    }
    return changed;
  }

  async purge(ids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const part of chunks(ids, ID_CHUNK)) {
      deleted += await execute(
        this.#s.prisma,
        this.#s.dialect,
        `DELETE FROM ${this.#table} WHERE id IN (${placeholders(part.length)})`,
        part,
      );
    }
    return deleted;
  }

  async backlog(): Promise<{
    /** Records not yet published: `pending` (delayed ones included) and `failed`. */
    pending: number;
    /** Since when the oldest due record waits (creation, or due time of a delayed/requeued one); null when none waits. */
    oldestCreatedAt: Date | null;
  }> {
    // With its own pool, the relay's connection is checked too: health is not ready at once
    // when the relay cannot reach the database, not only once its backlog has aged.
    const [[row]] = await Promise.all([
      this.#backlogRows(),
      this.#relayPool?.ping().catch((error: unknown) => {
        throw new HeraldError('HERALD_RELAY_CONNECTION', `relay connection: ${(error as Error).message}`, {
          cause: error,
        });
      }),
    ]);
    return {
      pending: Number(row?.pending ?? 0),
      oldestCreatedAt:
        row?.oldest === null || row?.oldest === undefined ? null : new Date(Number(row.oldest)),
    };
  }

  #backlogRows() {
    return query<{ pending: bigint | number; oldest: bigint | number | null }>(
      this.#s.reader,
      this.#s.dialect,
      // A pending row with a due time (delayed publish, requeue) waits from then; not yet due, not at all.
      `SELECT COUNT(*) AS pending,
         MIN(CASE WHEN status = 'pending' AND next_attempt_at > ? THEN NULL
                  WHEN status = 'pending' AND next_attempt_at IS NOT NULL THEN next_attempt_at
                  ELSE created_at END) AS oldest
       FROM ${this.#table} WHERE status IN ${OPEN}`,
      [Date.now()],
    );
  }

  /** Stops the LISTEN connection and the relay's pool, if any (the user's PrismaClient is never closed here). */
  async close(): Promise<void> {
    this.#stopListening?.();
    this.#stopListening = undefined;
    await Promise.all([this.#notify.listener?.close(), this.#relayPool?.close()]);
  }

  #wake(): void {
    for (const listener of this.#listeners) listener();
  }
}

const MAX_NAME = 255;

/** Rejects what the columns cannot hold with a typed error, before anything is written. */
function checkEntry({ message, bucket, nextAttemptAt }: OutboxEntry): void {
  if (typeof message.id !== 'string' || message.id.length === 0 || message.id.length > 36) {
    throw new ConfigurationError(`Outbox message id must be a UUID, got "${String(message.id)}"`);
  }
  if (message.name.length > MAX_NAME) {
    throw new ConfigurationError(
      `Event name "${message.name.slice(0, 40)}…" is longer than ${MAX_NAME} characters`,
    );
  }
  if (message.orderingKey !== undefined && message.orderingKey.length > MAX_NAME) {
    throw new ConfigurationError(
      `Ordering key "${message.orderingKey.slice(0, 40)}…" is longer than ${MAX_NAME} characters`,
    );
  }
  if (!Number.isInteger(bucket) || bucket < 0) {
    throw new ConfigurationError(`Outbox bucket must be a non-negative integer, got ${String(bucket)}`);
  }
  if (nextAttemptAt !== undefined && !Number.isFinite(nextAttemptAt.getTime())) {
    throw new ConfigurationError('Outbox nextAttemptAt must be a valid Date');
  }
}
