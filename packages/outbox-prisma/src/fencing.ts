import { assertFenceCurrent, type Fence } from '@herald/core';
import { type Dialect, execute, query } from './dialect.js';
import type { SqlExecutor } from './prisma-client.js';

/**
 * Fencing on the `<prefix>fences` table: one row per relay lock holding the
 * newest token seen. A relay's first call under a new token raises the row
 * (never lowers it); every claim and mark statement carries {@link guard},
 * so a statement that runs after a newer holder raised the row changes
 * nothing, and the store then reports the stale token with
 * `StaleFencingTokenError`.
 */
export class FenceTable {
  readonly #dialect: Dialect;
  readonly #table: string;
  /** Tokens this store already raised, per lock: later calls only read the row. */
  readonly #raised = new Map<string, bigint>();

  constructor(dialect: Dialect, table: string) {
    this.#dialect = dialect;
    this.#table = table;
  }

  /**
   * On the first use of a token, raises the lock's row to it and throws
   * `StaleFencingTokenError` when the row already holds a newer one. Later
   * calls with the same token cost nothing: their statements' {@link guard}
   * refuses them once a newer token is stored (so an idle relay's poll stays
   * one statement).
   */
  async enter(db: SqlExecutor, fence: Fence | undefined): Promise<void> {
    if (!fence) return;
    if (this.#raised.get(fence.lock) === fence.token) return;
    assertFenceCurrent(fence, await this.#raise(db, fence));
    this.#raised.set(fence.lock, fence.token);
  }

  /** Throws `StaleFencingTokenError` when the lock's row holds a newer token than `fence`'s. */
  async check(db: SqlExecutor, fence: Fence | undefined): Promise<void> {
    if (!fence) return;
    const rows = await query<{ token: bigint | number | string }>(
      db,
      this.#dialect,
      `SELECT ${this.#tokenText('token')} AS token FROM ${this.#table} WHERE lock_key = ?`,
      [fence.lock],
    );
    assertFenceCurrent(fence, rows[0] === undefined ? null : BigInt(rows[0].token));
  }

  /**
   * `NOT EXISTS (newer token)` for a claim or mark statement's `WHERE`, with
   * its parameters: what makes the check and the write one atomic step.
   */
  guard(fence: Fence | undefined): { sql: string; params: unknown[] } {
    if (!fence) return { sql: '1 = 1', params: [] };
    return {
      sql: `NOT EXISTS (SELECT 1 FROM ${this.#table} fence WHERE fence.lock_key = ? AND fence.token > ?)`,
      params: [fence.lock, fence.token],
    };
  }

  /** The token column as text: drivers (libsql) refuse to hand out integers above 2^53 as numbers. */
  #tokenText(column: string): string {
    return this.#dialect.provider === 'mysql' ? `CAST(${column} AS CHAR)` : `CAST(${column} AS TEXT)`;
  }

  /** Upserts `max(stored, token)`; resolves with the stored token afterwards. */
  async #raise(db: SqlExecutor, fence: Fence): Promise<bigint> {
    const dialect = this.#dialect;
    const t = this.#table;
    if (dialect.provider === 'mysql') {
      await execute(
        db,
        dialect,
        `INSERT INTO ${t} (lock_key, token) VALUES (?, ?) ON DUPLICATE KEY UPDATE token = GREATEST(token, VALUES(token))`,
        [fence.lock, fence.token],
      );
      const rows = await query<{ token: bigint | number | string }>(
        db,
        dialect,
        `SELECT ${this.#tokenText('token')} AS token FROM ${t} WHERE lock_key = ?`,
        [fence.lock],
      );
      return BigInt(rows[0]!.token);
    }
    const newest =
      dialect.provider === 'postgresql'
        ? `GREATEST(${t}.token, EXCLUDED.token)`
        : 'MAX(token, excluded.token)';
    const rows = await query<{ token: bigint | number | string }>(
      db,
      dialect,
      `INSERT INTO ${t} (lock_key, token) VALUES (?, ?)
       ON CONFLICT (lock_key) DO UPDATE SET token = ${newest} RETURNING ${this.#tokenText('token')} AS token`,
      [fence.lock, fence.token],
    );
    return BigInt(rows[0]!.token);
  }
}
