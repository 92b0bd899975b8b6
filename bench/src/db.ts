import pg from 'pg';

/**
 * The benchmarks' own database, so other engineers' test databases are never touched.
 * BENCH_DATABASE names another one, so two bench runs on one server never drain each other's outbox.
 */
export const BENCH_DATABASE = process.env.BENCH_DATABASE ?? 'herald_bench';
/** Connections per process on every path that talks to PostgreSQL (raw pg, Prisma, the peer). */
export const POOL_SIZE = 10;
/** Rows of the business table the producers update (spread so transactions rarely wait on a row lock). */
export const ACCOUNTS = 1000;

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export function benchUrl(pgUrl: string): string {
  return withDatabase(pgUrl, BENCH_DATABASE);
}

/** Creates the bench database, pg_stat_statements and the business tables (idempotent). */
export async function prepareDatabase(pgUrl: string): Promise<void> {
  const admin = new pg.Client({ connectionString: pgUrl });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable (${(error as Error).message}). Start it with: bash tooling/services/up.sh postgres`,
    );
  }
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE "${BENCH_DATABASE}"`);
  } finally {
    await admin.end();
  }
  await withClient(benchUrl(pgUrl), async (db) => {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await db.query(
      'CREATE TABLE IF NOT EXISTS bench_accounts (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL)',
    );
    await db.query(
      'CREATE TABLE IF NOT EXISTS bench_orders (id VARCHAR(36) PRIMARY KEY, account_id INTEGER NOT NULL, amount BIGINT NOT NULL)',
    );
    await db.query(
      `INSERT INTO bench_accounts (id, balance) SELECT g, 0 FROM generate_series(1, ${ACCOUNTS}) g ON CONFLICT (id) DO NOTHING`,
    );
  });
}

export async function withClient<T>(url: string, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

/** Empties the business tables and Herald's tables (if they exist), then vacuums so every run starts alike. */
export async function resetTables(url: string, extra: readonly string[] = []): Promise<void> {
  await withClient(url, async (db) => {
    const tables = ['bench_orders', 'herald_outbox', 'herald_inbox', ...extra];
    const existing = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY($1)`,
      [tables],
    );
    if (existing.rows.length > 0) {
      await db.query(`TRUNCATE ${existing.rows.map((r) => `"${r.name}"`).join(', ')}`);
      for (const row of existing.rows) await db.query(`VACUUM ANALYZE "${row.name}"`);
    }
  });
}

/** Statement counts and WAL of the bench database, from pg_stat_statements and pg_stat_wal. */
export interface DbStats {
  /** Statements executed in the bench database (pg_stat_statements calls, our own stats queries excluded). */
  calls: number;
  /** WAL bytes those statements generated (pg_stat_statements.wal_bytes: this database only). */
  walBytes: number;
  /** WAL bytes of the whole cluster (pg_stat_wal: includes other databases' activity). */
  clusterWalBytes: number;
  /** Transactions committed in the bench database (pg_stat_database). */
  commits: number;
  /** Per normalized statement: calls, for the breakdown of the busiest ones. */
  statements: Map<string, { calls: number; totalMs: number; walBytes: number }>;
}

const OWN_QUERY = /pg_stat_|pg_database|pg_class|pg_current_wal/;

export async function dbStats(db: pg.Client): Promise<DbStats> {
  const statements = new Map<string, { calls: number; totalMs: number; walBytes: number }>();
  let calls = 0;
  let walBytes = 0;
  const rows = await db.query<{ query: string; calls: string; total: number; wal: string }>(
    `SELECT s.query, s.calls::text AS calls, s.total_exec_time AS total, s.wal_bytes::text AS wal
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`,
    [BENCH_DATABASE],
  );
  for (const row of rows.rows) {
    if (OWN_QUERY.test(row.query)) continue;
    const entry = statements.get(row.query) ?? { calls: 0, totalMs: 0, walBytes: 0 };
    entry.calls += Number(row.calls);
    entry.totalMs += row.total;
    entry.walBytes += Number(row.wal);
    statements.set(row.query, entry);
    calls += Number(row.calls);
    walBytes += Number(row.wal);
  }
  const wal = await db.query<{ bytes: string }>('SELECT wal_bytes::text AS bytes FROM pg_stat_wal');
  const commits = await db.query<{ n: string }>(
    'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1',
    [BENCH_DATABASE],
  );
  return {
    calls,
    walBytes,
    clusterWalBytes: Number(wal.rows[0]?.bytes ?? 0),
    commits: Number(commits.rows[0]?.n ?? 0),
    statements,
  };
}

/** What happened in the bench database between two snapshots. */
export function statsDelta(before: DbStats, after: DbStats) {
  const statements: Array<{ query: string; calls: number; totalMs: number; walBytes: number }> = [];
  for (const [query, entry] of after.statements) {
    const prior = before.statements.get(query) ?? { calls: 0, totalMs: 0, walBytes: 0 };
    const calls = entry.calls - prior.calls;
    if (calls > 0) {
      statements.push({
        query,
        calls,
        totalMs: entry.totalMs - prior.totalMs,
        walBytes: entry.walBytes - prior.walBytes,
      });
    }
  }
  statements.sort((a, b) => b.calls - a.calls);
  return {
    calls: after.calls - before.calls,
    walBytes: after.walBytes - before.walBytes,
    clusterWalBytes: after.clusterWalBytes - before.clusterWalBytes,
    commits: after.commits - before.commits,
    statements,
  };
}

export type StatsDelta = ReturnType<typeof statsDelta>;

/** Per-event figures of a delta (statements, WAL), the shape written to the results file. */
export function perEvent(delta: StatsDelta, events: number) {
  if (events <= 0) return {};
  const r = (v: number) => Math.round((v / events) * 1000) / 1000;
  return {
    statementsPerEvent: r(delta.calls),
    commitsPerEvent: r(delta.commits),
    walBytesPerEvent: Math.round(delta.walBytes / events),
    clusterWalBytesPerEvent: Math.round(delta.clusterWalBytes / events),
    topStatements: delta.statements.slice(0, 8).map((s) => ({
      perEvent: r(s.calls),
      msPerEvent: Math.round((s.totalMs / events) * 1000) / 1000,
      query: s.query.replace(/\s+/g, ' ').slice(0, 140),
    })),
  };
}
