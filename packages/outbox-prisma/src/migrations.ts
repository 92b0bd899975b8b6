import { readdir, readFile } from 'node:fs/promises';
import { ConfigurationError } from '@herald/core';
import { assertProvider, Dialect, execute, type Provider, query } from './dialect.js';
import { DEFAULT_TABLE_PREFIX, tableNames } from './options.js';
import { assertPrismaClient, type PrismaClientLike, type SqlExecutor } from './prisma-client.js';

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The database the migrations are written for (Prisma's provider name; MariaDB is `mysql`). */
  provider: Provider;
  /** Same prefix as given to `prismaEventLog`; default `herald_`. */
  tablePrefix?: string;
  /**
   * Core's `relayShards` when it is above 1: also creates the index that makes
   * each shard's claim (`bucket % relayShards = shard`) a range of its own in
   * sequence order (PostgreSQL and SQLite; MariaDB/MySQL have no expression
   * indexes and keep filtering the open-records index). Idempotent; one index
   * per shard count.
   */
  relayShards?: number;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Migrations applied by this call, in order (empty when the schema was up to date). */
  readonly applied: readonly string[];
}

/** One shipped migration file, its table names already rewritten for the prefix. */
export interface Migration {
  /** The migration's file name without `.sql` (e.g. `0001_init`); applied ones are recorded under it. */
  readonly name: string;
  /** Its SQL statements, with `herald_` replaced by the table prefix. */
  readonly sql: string;
}

const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

/**
 * The SQL migrations shipped for `provider` (`migrations/<provider>/*.sql` in
 * the package), in order, with `herald_` replaced by `tablePrefix`. Use them to
 * paste into your own migration tool instead of calling {@link migrate}.
 */
export async function migrations(
  provider: Provider,
  tablePrefix = DEFAULT_TABLE_PREFIX,
): Promise<Migration[]> {
  assertProvider(provider);
  tableNames(tablePrefix); // validates the prefix
  const dir = new URL(`${provider}/`, MIGRATIONS_DIR);
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  return Promise.all(
    files.map(async (file) => ({
      name: file.replace(/\.sql$/, ''),
      sql: (await readFile(new URL(file, dir), 'utf8')).replace(/\bherald_/g, tablePrefix),
    })),
  );
}

/** Splits a migration file into statements (no semicolons inside Herald's statements). */
function statements(sql: string): string[] {
  return sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(';')
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}

function trackingTable(dialect: Dialect, table: string, prefix: string): string {
  const name = dialect.quote(table);
  switch (dialect.provider) {
    case 'postgresql':
      return `CREATE TABLE IF NOT EXISTS ${name} ("name" VARCHAR(255) NOT NULL, "applied_at" BIGINT NOT NULL,
        CONSTRAINT "${prefix}migrations_pkey" PRIMARY KEY ("name"))`;
    case 'mysql':
      return `CREATE TABLE IF NOT EXISTS ${name} (\`name\` VARCHAR(255) NOT NULL, \`applied_at\` BIGINT NOT NULL,
        PRIMARY KEY (\`name\`)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`;
    case 'sqlite':
      return `CREATE TABLE IF NOT EXISTS ${name} ("name" TEXT NOT NULL PRIMARY KEY, "applied_at" BIGINT NOT NULL)`;
  }
}

/**
 * The statements of the per-shard claim index for `relayShards` shards (empty
 * for one shard, or on MariaDB/MySQL). The expression must read exactly as
 * the claim's (`bucket % N`, N inlined). On PostgreSQL also statistics on the
 * expression: ANALYZE keeps none for a partial index's expressions, and
 * without them the planner guesses a shard at 0.5% of the table, fetches the
 * whole shard through a bitmap and sorts it instead of reading the index in
 * order up to the claim's limit.
 */
export function shardIndexStatements(
  dialect: Dialect,
  outbox: string,
  relayShards: number | undefined,
): string[] {
  if (relayShards === undefined || relayShards <= 1 || dialect.provider === 'mysql') return [];
  if (!Number.isInteger(relayShards) || relayShards > 1024) {
    throw new ConfigurationError(`relayShards must be an integer from 1 to 1024, got ${String(relayShards)}`);
  }
  const table = dialect.quote(outbox);
  const index = `CREATE INDEX IF NOT EXISTS ${dialect.quote(`${outbox}_shard${relayShards}_idx`)} ON ${table} ((bucket % ${relayShards}), sequence)
    WHERE status IN ('pending', 'failed')`;
  if (dialect.provider !== 'postgresql') return [index];
  // Filled by the next ANALYZE (autovacuum's, on a table that churns like an outbox).
  const statistics = `CREATE STATISTICS IF NOT EXISTS ${dialect.quote(`${outbox}_shard${relayShards}_stats`)} ON (bucket % ${relayShards}) FROM ${table}`;
  return [index, statistics];
}

/**
 * Creates or upgrades Herald's tables with your own Prisma client, applying
 * the shipped SQL migrations that are not recorded in `<prefix>migrations`
 * yet. Safe to call on every start and from several processes at once:
 * PostgreSQL runs it in one transaction under an advisory lock, MariaDB/MySQL
 * under `GET_LOCK`, SQLite under its write lock, and every statement is
 * `IF NOT EXISTS`.
 *
 * ```ts
 * await migrate(prisma, { provider: 'postgresql' });
 * ```
 */
export async function migrate(prisma: PrismaClientLike, options: MigrateOptions): Promise<MigrateResult> {
  assertPrismaClient(prisma, 'migrate()');
  assertProvider(options?.provider);
  const prefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
  const names = tableNames(prefix);
  const dialect = new Dialect(options.provider);
  const pending = await migrations(options.provider, prefix);
  const lockName = `herald:migrate:${prefix}`;
  const tracking = dialect.quote(names.migrations);

  return prisma.$transaction(
    async (tx: SqlExecutor) => {
      if (dialect.provider === 'postgresql') {
        await query(
          tx,
          dialect,
          'SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtext(?))) AS lock',
          [lockName],
        );
      } else if (dialect.provider === 'mysql') {
        await query(tx, dialect, 'SELECT GET_LOCK(?, 120) AS locked', [lockName]);
      }
      try {
        await execute(tx, dialect, trackingTable(dialect, names.migrations, prefix), []);
        const done = new Set(
          (await query<{ name: string }>(tx, dialect, `SELECT name FROM ${tracking}`, [])).map(
            (row) => row.name,
          ),
        );
        const applied: string[] = [];
        for (const migration of pending) {
          if (done.has(migration.name)) continue;
          for (const statement of statements(migration.sql)) await execute(tx, dialect, statement, []);
          await execute(tx, dialect, dialect.insertIgnoring(tracking, ['name', 'applied_at'], 1, ['name']), [
            migration.name,
            Date.now(),
          ]);
          applied.push(migration.name);
        }
        for (const statement of shardIndexStatements(dialect, names.outbox, options.relayShards))
          await execute(tx, dialect, statement, []);
        return { applied };
      } finally {
        // MariaDB/MySQL DDL commits implicitly, so the named lock (not the transaction) guards the run.
        if (dialect.provider === 'mysql')
          await query(tx, dialect, 'SELECT RELEASE_LOCK(?) AS released', [lockName]);
      }
    },
    { maxWait: 30_000, timeout: 120_000 },
  );
}
