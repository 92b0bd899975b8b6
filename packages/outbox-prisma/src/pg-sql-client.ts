import { HeraldError, type Logger } from '@herald/core';
import { loadPg, type PgPool, type PgPoolClient } from './pg-module.js';
import type { PrismaClientLike, SqlExecutor } from './prisma-client.js';

/** Settings of {@link PgSqlClient}. */
export interface PgSqlClientOptions {
  readonly connectionString: string;
  /** Connections at most (each batch in flight holds one). */
  readonly poolSize: number;
  /** Longest wait for a free connection, as Prisma's `maxWait`. */
  readonly maxWait: number;
  /** Where idle-connection errors go (already redacting the connection's password). */
  readonly logger: Logger;
  /** Which option created it, for the error when `pg` is missing. */
  readonly option: string;
}

type TransactionSettings = { maxWait?: number; timeout?: number; isolationLevel?: unknown };

/**
 * The raw-SQL slice of a Prisma client ({@link PrismaClientLike}) on a small
 * `pg` pool of its own, for the relay's claims and marks on PostgreSQL: they
 * then never queue behind the application's transactions for a pooled
 * connection, and skip Prisma's per-statement work (query plan, row
 * conversion), which the relay pays per batch and per wake-up. Statements are
 * the same SQL text and `$n` parameters the Prisma path sends.
 *
 * Transactions behave like Prisma's interactive ones: `COMMIT` when the work
 * resolves, `ROLLBACK` when it throws, and when it outlives `timeout` the
 * transaction is rolled back at once (releasing its row locks) and the work's
 * later statements and its commit fail.
 */
export class PgSqlClient implements PrismaClientLike {
  readonly #options: PgSqlClientOptions;
  #pool: Promise<PgPool> | undefined;
  #closed = false;

  constructor(options: PgSqlClientOptions) {
    this.#options = options;
  }

  async $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T> {
    const pool = await this.#connectPool();
    return (await pool.query(sql, values)).rows as T;
  }

  async $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> {
    const pool = await this.#connectPool();
    return (await pool.query(sql, values)).rowCount ?? 0;
  }

  async $transaction<R>(
    work: (tx: SqlExecutor) => Promise<R>,
    settings: TransactionSettings = {},
  ): Promise<R> {
    const pool = await this.#connectPool();
    const client = await pool.connect();
    const timeoutMs = settings.timeout ?? 5_000;
    const state = new TransactionState(client, timeoutMs);
    try {
      await client.query(
        settings.isolationLevel === 'ReadCommitted' ? 'BEGIN ISOLATION LEVEL READ COMMITTED' : 'BEGIN',
      );
      state.start();
      const result = await work(state.executor);
      await state.commit();
      return result;
    } finally {
      await state.finish(); // rolls back whatever did not commit, before an error propagates
    }
  }

  /** Checks that the pool can reach the database (one `SELECT 1`). */
  async ping(): Promise<void> {
    await this.$queryRawUnsafe('SELECT 1');
  }

  /** Closes the pool (in-flight statements finish first). */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool.catch(() => undefined))?.end();
  }

  #connectPool(): Promise<PgPool> {
    if (this.#closed)
      return Promise.reject(
        new HeraldError('HERALD_RELAY_POOL_CLOSED', 'The relay connection pool is closed'),
      );
    this.#pool ??= loadPg(this.#options.option).then((pg) => {
      const pool = new pg.Pool({
        connectionString: this.#options.connectionString,
        application_name: 'herald-relay',
        max: this.#options.poolSize,
        connectionTimeoutMillis: this.#options.maxWait,
        // Idle connections close after 10 s and never keep the process alive on their own.
        idleTimeoutMillis: 10_000,
        allowExitOnIdle: true,
      });
      // An idle connection's error (server restart) is reported here, not thrown: the pool replaces it.
      // Only code and message: pg attaches the whole client (its connection parameters) to these errors.
      pool.on('error', (error) =>
        this.#options.logger.warn('A relay database connection failed; it will be replaced', {
          error: describePgError(error),
        }),
      );
      return pool;
    });
    // A failed import stays failed (no `pg`); nothing else is cached as a failure.
    return this.#pool;
  }
}

/** One checked-out connection's transaction: its timeout, and whether the connection may be reused. */
class TransactionState {
  readonly #client: PgPoolClient;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #expired = false;
  /** COMMIT or ROLLBACK sent (once; the timeout may send ROLLBACK while the work still runs); never rejects. */
  #end: Promise<void> | undefined;
  /** Set when the connection's state is unknown (a failed COMMIT or ROLLBACK): destroyed, not reused. */
  #broken: Error | undefined;

  readonly executor: SqlExecutor = {
    $queryRawUnsafe: async <T>(sql: string, ...values: unknown[]) => {
      this.#checkOpen();
      return (await this.#client.query(sql, values)).rows as T;
    },
    $executeRawUnsafe: async (sql: string, ...values: unknown[]) => {
      this.#checkOpen();
      return (await this.#client.query(sql, values)).rowCount ?? 0;
    },
  };

  /** A checked-out connection's own error (killed, server gone) surfaces in its next query; kept off the process. */
  readonly #onError = (error: Error) => {
    this.#broken = error;
  };

  constructor(client: PgPoolClient, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    client.on('error', this.#onError);
  }

  start(): void {
    this.#timer = setTimeout(() => {
      this.#expired = true;
      // Rolled back now, not when the work returns: its row locks are released at the timeout.
      void this.rollback();
    }, this.#timeoutMs);
    this.#timer.unref?.();
  }

  /** Sends COMMIT; rejects when it fails or when the server answers that it rolled back instead. */
  async commit(): Promise<void> {
    this.#checkOpen();
    const sent = this.#client.query('COMMIT');
    this.#end = sent.then(
      () => undefined,
      (error: Error) => {
        this.#broken = error;
      },
    );
    const result = await sent;
    // A transaction with a failed statement that the work caught commits as ROLLBACK, without an error.
    if (result.command === 'ROLLBACK') {
      throw new HeraldError(
        'HERALD_RELAY_TRANSACTION_ABORTED',
        "The relay's transaction had a failed statement and was rolled back instead of committed",
      );
    }
  }

  /** Sends ROLLBACK once (never rejects: a failure marks the connection for destruction). */
  rollback(): Promise<void> {
    this.#end ??= this.#client.query('ROLLBACK').then(
      () => undefined,
      (error: Error) => {
        this.#broken = error;
      },
    );
    return this.#end;
  }

  /** Gives the connection back to the pool, or destroys it when its state is unknown. */
  async finish(): Promise<void> {
    clearTimeout(this.#timer);
    await this.rollback(); // no-op once COMMIT or ROLLBACK was sent; else the work (or BEGIN) failed
    this.#client.removeListener('error', this.#onError);
    this.#client.release(this.#broken);
  }

  #checkOpen(): void {
    if (this.#expired) {
      throw new HeraldError(
        'HERALD_RELAY_TRANSACTION_TIMEOUT',
        `The relay's transaction outlived its timeout of ${this.#timeoutMs} ms and was rolled back`,
      );
    }
    if (this.#end)
      throw new HeraldError('HERALD_RELAY_TRANSACTION_ENDED', "The relay's transaction has already ended");
  }
}

/** `57P01: terminating connection …`: what an operator needs, and nothing of the client it came from. */
function describePgError(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}
