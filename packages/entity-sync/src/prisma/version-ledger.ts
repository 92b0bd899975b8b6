import { ConfigurationError } from '@herald/core';

/** Databases the ledger speaks (Prisma's provider names; MariaDB is `mysql`). */
export type LedgerProvider = 'postgresql' | 'mysql' | 'sqlite';

/** The raw-SQL part of a Prisma client or transaction client. */
export interface SqlClient {
  /** Runs a statement with positional parameters; resolves to the number of rows it changed. */
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  /** Runs a query with positional parameters; resolves to its rows. */
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

/** One ledger row: the last applied version of a local copy. */
export interface LedgerEntry {
  readonly version: number | undefined;
  readonly deleted: boolean;
  readonly appliedAt: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The version ledger of local copies: one row per (scope, key) with the last
 * applied version and a tombstone flag. `claim` is the conditional upsert
 * that decides, atomically in the database, whether a change is newer than
 * what was applied; the row stays locked until the transaction ends, so the
 * write to the copy that follows cannot race another claim of the same key.
 */
export class VersionLedger {
  readonly provider: LedgerProvider;
  readonly #table: string;

  constructor(provider: LedgerProvider, table: string) {
    if (provider !== 'postgresql' && provider !== 'mysql' && provider !== 'sqlite') {
      throw new ConfigurationError(
        `provider must be 'postgresql', 'mysql' or 'sqlite', got ${String(provider)}`,
      );
    }
    if (!IDENTIFIER.test(table)) throw new ConfigurationError(`"${table}" is not a usable table name`);
    this.provider = provider;
    this.#table = this.#quote(table);
  }

  /** `CREATE TABLE IF NOT EXISTS` for the ledger. */
  createTableSql(): string {
    const t = this.#table;
    switch (this.provider) {
      case 'postgresql':
        return `CREATE TABLE IF NOT EXISTS ${t} ("scope" VARCHAR(255) NOT NULL, "key" VARCHAR(255) NOT NULL,
          "version" BIGINT, "deleted" BOOLEAN NOT NULL DEFAULT false, "applied_at" BIGINT NOT NULL,
          PRIMARY KEY ("scope", "key"))`;
      case 'sqlite':
        return `CREATE TABLE IF NOT EXISTS ${t} ("scope" TEXT NOT NULL, "key" TEXT NOT NULL, "version" BIGINT,
          "deleted" BOOLEAN NOT NULL DEFAULT false, "applied_at" BIGINT NOT NULL, PRIMARY KEY ("scope", "key"))`;
      case 'mysql':
        return `CREATE TABLE IF NOT EXISTS ${t} (\`scope\` VARCHAR(255) NOT NULL, \`key\` VARCHAR(255) NOT NULL,
          \`version\` BIGINT NULL, \`deleted\` BOOLEAN NOT NULL DEFAULT false, \`applied_at\` BIGINT NOT NULL,
          PRIMARY KEY (\`scope\`, \`key\`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`;
    }
  }

  async get(db: SqlClient, scope: string, key: string): Promise<LedgerEntry | undefined> {
    const rows = await db.$queryRawUnsafe<Array<{ version: unknown; deleted: unknown; applied_at: unknown }>>(
      `SELECT ${this.#quote('version')} AS version, ${this.#quote('deleted')} AS deleted,
        ${this.#quote('applied_at')} AS applied_at FROM ${this.#table}
        WHERE ${this.#quote('scope')} = ${this.#param(1)} AND ${this.#quote('key')} = ${this.#param(2)}`,
      scope,
      key,
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      version: row.version === null || row.version === undefined ? undefined : Number(row.version),
      deleted: row.deleted === true || Number(row.deleted) === 1,
      appliedAt: Number(row.applied_at),
    };
  }

  /**
   * Records `version` for (scope, key) when it is newer than the stored one
   * (or either is unknown) and returns true; returns false, changing nothing,
   * for an older or equal version.
   */
  async claim(
    db: SqlClient,
    scope: string,
    key: string,
    version: number | undefined,
    deleted: boolean,
  ): Promise<boolean> {
    const now = Date.now();
    const v = version ?? null;
    if (this.provider === 'mysql') return this.#claimMySql(db, scope, key, v, deleted, now);
    const q = (name: string) => this.#quote(name);
    // ON CONFLICT … DO UPDATE … WHERE locks the conflicting row and re-checks the condition on the
    // latest committed version, so of two racing claims only a newer one can win.
    const rows = await db.$queryRawUnsafe<unknown[]>(
      `INSERT INTO ${this.#table} (${q('scope')}, ${q('key')}, ${q('version')}, ${q('deleted')}, ${q('applied_at')})
        VALUES (${this.#param(1)}, ${this.#param(2)}, ${this.#param(3)}, ${this.#param(4)}, ${this.#param(5)})
        ON CONFLICT (${q('scope')}, ${q('key')}) DO UPDATE SET ${q('version')} = excluded.${q('version')},
          ${q('deleted')} = excluded.${q('deleted')}, ${q('applied_at')} = excluded.${q('applied_at')}
        WHERE ${this.#table}.${q('version')} IS NULL OR excluded.${q('version')} IS NULL
          OR ${this.#table}.${q('version')} < excluded.${q('version')}
        RETURNING ${q('key')}`,
      scope,
      key,
      v,
      this.provider === 'sqlite' ? (deleted ? 1 : 0) : deleted,
      now,
    );
    return rows.length > 0;
  }

  /**
   * MySQL/MariaDB have no `RETURNING` on upserts and report "row unchanged" and
   * "row inserted" alike under CLIENT_FOUND_ROWS, so: insert if absent (won),
   * else lock the row and decide.
   */
  async #claimMySql(
    db: SqlClient,
    scope: string,
    key: string,
    version: number | null,
    deleted: boolean,
    now: number,
  ): Promise<boolean> {
    const inserted = await db.$executeRawUnsafe(
      `INSERT IGNORE INTO ${this.#table} (\`scope\`, \`key\`, \`version\`, \`deleted\`, \`applied_at\`) VALUES (?, ?, ?, ?, ?)`,
      scope,
      key,
      version,
      deleted,
      now,
    );
    if (inserted === 1) return true; // first change of this key; the new row is locked until commit
    const rows = await db.$queryRawUnsafe<Array<{ version: unknown }>>(
      `SELECT \`version\` AS version FROM ${this.#table} WHERE \`scope\` = ? AND \`key\` = ? FOR UPDATE`,
      scope,
      key,
    );
    const stored = rows[0];
    if (!stored) return false; // cannot happen: the row existed a statement ago and is never deleted
    const storedVersion =
      stored.version === null || stored.version === undefined ? null : Number(stored.version);
    if (storedVersion !== null && version !== null && storedVersion >= version) return false;
    await db.$executeRawUnsafe(
      `UPDATE ${this.#table} SET \`version\` = ?, \`deleted\` = ?, \`applied_at\` = ? WHERE \`scope\` = ? AND \`key\` = ?`,
      version,
      deleted,
      now,
      scope,
      key,
    );
    return true;
  }

  #quote(name: string): string {
    return this.provider === 'mysql' ? `\`${name}\`` : `"${name}"`;
  }

  #param(index: number): string {
    return this.provider === 'postgresql' ? `$${index}` : '?';
  }
}
