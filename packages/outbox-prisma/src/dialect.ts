import { ConfigurationError } from '@herald/core';
import type { PrismaClientLike, SqlExecutor, TransactionOptions } from './prisma-client.js';

/** The databases the Prisma event log speaks (Prisma's provider names). */
export type Provider = 'postgresql' | 'sqlite' | 'mysql';

const PROVIDERS: readonly Provider[] = ['postgresql', 'sqlite', 'mysql'];

export function assertProvider(provider: unknown): asserts provider is Provider {
  if (!PROVIDERS.includes(provider as Provider)) {
    throw new ConfigurationError(
      `provider must be one of ${PROVIDERS.map((p) => `'${p}'`).join(', ')} (MariaDB uses 'mysql'), got ${String(provider)}`,
    );
  }
}

/**
 * The few places where the three engines' SQL differs. Statements are written
 * with `?` placeholders and rewritten for PostgreSQL (`$1`, `$2`, …).
 */
export class Dialect {
  readonly provider: Provider;

  constructor(provider: Provider) {
    this.provider = provider;
  }

  /** Quotes an identifier (names are validated before they get here). */
  quote(identifier: string): string {
    return this.provider === 'mysql' ? `\`${identifier}\`` : `"${identifier}"`;
  }

  /** A BIGINT placeholder where PostgreSQL cannot infer the type by itself (CASE branches). */
  get bigint(): string {
    return this.provider === 'postgresql' ? '?::bigint' : '?';
  }

  /** A text placeholder where PostgreSQL cannot infer the type by itself (CASE branches). */
  get text(): string {
    return this.provider === 'postgresql' ? '?::text' : '?';
  }

  /** `existing` with `incoming` appended, keeping only the last `cap` characters. */
  appendCapped(existing: string, incoming: string, cap: number): string {
    if (this.provider === 'mysql') return `RIGHT(CONCAT(COALESCE(${existing}, ''), ${incoming}), ${cap})`;
    if (this.provider === 'sqlite') return `substr(COALESCE(${existing}, '') || ${incoming}, -${cap})`;
    return `right(COALESCE(${existing}, '') || ${incoming}, ${cap})`;
  }

  /** Rewrites `?` placeholders for the engine. Herald's statements never contain a literal `?`. */
  prepare(sql: string): string {
    if (this.provider !== 'postgresql') return sql;
    let index = 0;
    return sql.replace(/\?/g, () => `$${++index}`);
  }

  /** `INSERT INTO table (columns) VALUES (?, …), …` for `rows` rows. */
  insert(table: string, columns: readonly string[], rows: number): string {
    const values = Array.from({ length: rows }, () => `(${placeholders(columns.length)})`).join(', ');
    return `INSERT INTO ${table} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES ${values}`;
  }

  /** An {@link insert} that silently skips rows whose unique key (`conflict`) already exists. */
  insertIgnoring(
    table: string,
    columns: readonly string[],
    rows: number,
    conflict: readonly string[],
  ): string {
    const insert = this.insert(table, columns, rows);
    if (this.provider === 'mysql') return insert.replace(/^INSERT INTO/, 'INSERT IGNORE INTO');
    return `${insert} ON CONFLICT (${conflict.map((c) => this.quote(c)).join(', ')}) DO NOTHING`;
  }
}

/** Runs a statement and returns the affected row count. */
export async function execute(
  db: SqlExecutor,
  dialect: Dialect,
  sql: string,
  params: readonly unknown[],
): Promise<number> {
  return Number(await db.$executeRawUnsafe(dialect.prepare(sql), ...params));
}

/** Runs a query and returns its rows. */
export async function query<T>(
  db: SqlExecutor,
  dialect: Dialect,
  sql: string,
  params: readonly unknown[],
): Promise<T[]> {
  return (await db.$queryRawUnsafe<T[]>(dialect.prepare(sql), ...params)) ?? [];
}

/** `?, ?, ?` for `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

/** What {@link claimRows} needs: a table, the rows' claim rule and the lease to set. */
export interface ClaimStatement {
  readonly prisma: PrismaClientLike;
  readonly dialect: Dialect;
  /** Quoted table name. */
  readonly table: string;
  /** Unqualified, comma-separated columns to return. */
  readonly columns: string;
  /** The claim rule on rows aliased `o`, with its parameters. */
  readonly where: string;
  readonly whereParams: readonly unknown[];
  readonly limit: number;
  readonly leaseUntil: number;
  readonly owner: string;
  readonly transaction: Required<TransactionOptions>;
  /** The claimer alone works these rows (it holds their lock): read them, write no lease. */
  readonly exclusive?: boolean;
}

/**
 * Leases up to `limit` rows satisfying the claim rule, in sequence order, so
 * that concurrent claimers never get the same row:
 *
 * - PostgreSQL: one statement, `SELECT … FOR UPDATE SKIP LOCKED` feeding an `UPDATE … RETURNING`;
 * - MariaDB/MySQL: `SELECT … FOR UPDATE SKIP LOCKED` and one `UPDATE` in a READ COMMITTED transaction;
 * - SQLite: one `UPDATE … RETURNING`; SQLite runs one writer at a time, so the statement is the lease.
 *
 * Rows leased by another claimer stay skipped until their `lease_until` passes.
 * An `exclusive` claim is a plain `SELECT` of the same rows: no lease is
 * written, so the caller's mark is the only rewrite of each row.
 */
export async function claimRows<Row extends { sequence: unknown }>(claim: ClaimStatement): Promise<Row[]> {
  const { dialect, table, columns, where, whereParams, limit, leaseUntil, owner } = claim;
  const pick = `SELECT o.sequence FROM ${table} o WHERE ${where} ORDER BY o.sequence LIMIT ?`;
  let rows: Row[];
  if (claim.exclusive) {
    rows = await query<Row>(
      claim.prisma,
      dialect,
      `SELECT ${columns} FROM ${table} o WHERE ${where} ORDER BY o.sequence LIMIT ?`,
      [...whereParams, limit],
    );
  } else if (dialect.provider === 'postgresql') {
    rows = await query<Row>(
      claim.prisma,
      dialect,
      `WITH picked AS (SELECT o.sequence AS picked_sequence FROM ${table} o WHERE ${where}
         ORDER BY o.sequence LIMIT ? FOR UPDATE SKIP LOCKED)
       UPDATE ${table} SET lease_until = ?, lease_owner = ?
       FROM picked WHERE sequence = picked.picked_sequence
       RETURNING ${columns}`,
      [...whereParams, limit, leaseUntil, owner],
    );
  } else if (dialect.provider === 'sqlite') {
    rows = await query<Row>(
      claim.prisma,
      dialect,
      `UPDATE ${table} SET lease_until = ?, lease_owner = ? WHERE sequence IN (${pick}) RETURNING ${columns}`,
      [leaseUntil, owner, ...whereParams, limit],
    );
  } else {
    rows = await claim.prisma.$transaction(
      async (tx: SqlExecutor) => {
        const picked = await query<Row>(
          tx,
          dialect,
          `SELECT ${columns} FROM ${table} o WHERE ${where} ORDER BY o.sequence LIMIT ? FOR UPDATE SKIP LOCKED`,
          [...whereParams, limit],
        );
        if (picked.length > 0) {
          await execute(
            tx,
            dialect,
            `UPDATE ${table} SET lease_until = ?, lease_owner = ? WHERE sequence IN (${placeholders(picked.length)})`,
            [leaseUntil, owner, ...picked.map((row) => row.sequence)],
          );
        }
        return picked;
      },
      { ...claim.transaction, isolationLevel: 'ReadCommitted' },
    );
  }
  return rows.sort((a, b) => Number(a.sequence) - Number(b.sequence));
}

/**
 * "No row of the same chain (`sameChain`, on aliases `b` and `o`) with a lower
 * sequence is in one of `statuses`": the per-key blocking of the claim rules.
 * PostgreSQL and SQLite answer it from one partial index; MariaDB/MySQL get one
 * probe per status, so each is a range on the (key…, status, sequence) index
 * rather than a walk over the key's whole history.
 */
export function noEarlierRow(
  dialect: Dialect,
  table: string,
  sameChain: string,
  statuses: readonly string[],
): string {
  const earlier = (status: string) =>
    `NOT EXISTS (SELECT 1 FROM ${table} b WHERE ${sameChain} AND b.status ${status} AND b.sequence < o.sequence)`;
  if (dialect.provider === 'mysql') return statuses.map((status) => earlier(`= '${status}'`)).join(' AND ');
  return earlier(`IN (${statuses.map((status) => `'${status}'`).join(', ')})`);
}

/**
 * Deletes at most `limit` rows matching `where`, oldest `orderBy` first, in one
 * statement; returns how many. `params` are the `where` parameters then `limit`.
 */
export async function deleteOldest(
  settings: { prisma: SqlExecutor; dialect: Dialect },
  table: string,
  where: string,
  orderBy: string,
  params: readonly unknown[],
): Promise<number> {
  const { prisma, dialect } = settings;
  const oldest = `SELECT sequence FROM ${table} WHERE ${where} ORDER BY ${orderBy} LIMIT ?`;
  const sql =
    dialect.provider === 'mysql'
      ? // MariaDB/MySQL refuse LIMIT inside IN (…) but have DELETE … LIMIT.
        `DELETE FROM ${table} WHERE ${where} LIMIT ?`
      : dialect.provider === 'postgresql'
        ? // = ANY(ARRAY(…)): primary-key lookups, where IN (…) may hash-join the whole table.
          `DELETE FROM ${table} WHERE sequence = ANY(ARRAY(${oldest}))`
        : `DELETE FROM ${table} WHERE sequence IN (${oldest})`;
  return execute(prisma, dialect, sql, params);
}

/** Splits `items` into chunks of at most `size` (statements have a parameter limit). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** `WHERE …` joining the conditions whose value is defined, and their parameters (operator listings). */
export function whereOf(filters: ReadonlyArray<readonly [condition: string, value: unknown]>): {
  where: string;
  params: unknown[];
} {
  const used = filters.filter(([, value]) => value !== undefined);
  return {
    where: used.length > 0 ? `WHERE ${used.map(([condition]) => condition).join(' AND ')}` : '',
    params: used.map(([, value]) => value),
  };
}
