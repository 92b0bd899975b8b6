import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  claimSkipsLockedRows,
  type EngineHandle,
  openEngine,
  type RecordedStatement,
  recordingClient,
} from './helpers.js';

// What is special about MariaDB: no partial indexes (status-led compound indexes instead),
// and the claim is SELECT … FOR UPDATE SKIP LOCKED plus an UPDATE in a READ COMMITTED transaction.
let db: EngineHandle;

beforeAll(async () => {
  db = await openEngine('mysql');
});
afterAll(() => db?.close());
beforeEach(() => db.reset());

it('a claim skips rows another transaction holds instead of waiting for them', () =>
  claimSkipsLockedRows(db));

interface TableAccess {
  table_name?: string;
  access_type?: string;
  key?: string;
}

/** Every table access of a MariaDB EXPLAIN FORMAT=JSON document. */
function accesses(document: unknown): TableAccess[] {
  const found: TableAccess[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.table === 'object' && record.table !== null) found.push(record.table as TableAccess);
    for (const child of Object.values(record)) walk(child);
  };
  walk(document);
  return found;
}

async function explain(statement: RecordedStatement): Promise<TableAccess[]> {
  const rows = await db.prisma.$queryRawUnsafe<Record<string, string>[]>(
    `EXPLAIN FORMAT=JSON ${statement.sql}`,
    ...statement.params,
  );
  return accesses(JSON.parse(Object.values(rows[0]!)[0]!));
}

describe('claims on a 100k-row table use the status-led indexes (EXPLAIN)', () => {
  it('outbox claim, per-key check and cleanup', async () => {
    const now = Date.now();
    const fill = (from: number, to: number, status: string, publishedAt: number | null) =>
      db.prisma.$executeRawUnsafe(
        `INSERT INTO herald_outbox (id, name, ordering_key, bucket, headers, body, status, attempts, created_at, lease_until, published_at)
         SELECT LEFT(MD5(seq), 36), 'bench.event', IF(seq % 3 = 0, NULL, CONCAT('key-', seq % 5000)),
                seq % 1024, '{}', X'00', ?, 0, ?, 0, ?
         FROM seq_${from}_to_${to}`,
        status,
        now - 7_200_000,
        publishedAt,
      );
    await fill(1, 100_000, 'published', now - 7_200_000);
    await fill(100_001, 102_000, 'pending', null);
    await db.prisma.$executeRawUnsafe('ANALYZE TABLE herald_outbox');

    const statements: RecordedStatement[] = [];
    const log = db.log({}, recordingClient(db.prisma, statements) as typeof db.prisma);
    const started = performance.now();
    const claimed = await log.outbox.claim({
      limit: 100,
      leaseMs: 60_000,
      owner: 'explain',
      now: new Date(),
    });
    const claimMs = performance.now() - started;
    expect(claimed).toHaveLength(100);
    const cleanupStarted = performance.now();
    expect(await log.outbox.deleteExpired(new Date(now - 3_600_000), 1000)).toBe(1000);
    const cleanupMs = performance.now() - cleanupStarted;

    const claim = await explain(statements.find((s) => s.sql.includes('SKIP LOCKED'))!);
    const outer = claim[0]!;
    expect(outer.key).toBe('herald_outbox_status_sequence_idx');
    expect(claim.map((access) => access.key)).toContain('herald_outbox_ordering_key_status_sequence_idx');
    expect(claim.filter((access) => access.access_type === 'ALL')).toEqual([]);

    const cleanup = await explain(statements.find((s) => s.sql.startsWith('DELETE'))!);
    expect(cleanup.filter((access) => access.access_type === 'ALL')).toEqual([]);
    console.log(
      `MariaDB outbox claim of 100 among 102,000 rows: ${claimMs.toFixed(1)} ms (whole transaction, ${claim
        .map((a) => `${a.key}/${a.access_type}`)
        .join(', ')}); cleanup of 1,000: ${cleanupMs.toFixed(1)} ms`,
    );
  });
});
