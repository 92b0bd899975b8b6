import { outboxEntry, testWireMessage } from '@herald/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EngineHandle, openEngine, type RecordedStatement, recordingClient } from './helpers.js';

// What is special about SQLite: one writer at a time, so a claim is a single
// UPDATE … RETURNING (its own lease); the same partial indexes as PostgreSQL.
let db: EngineHandle;

beforeAll(async () => {
  db = await openEngine('sqlite');
});
afterAll(() => db?.close());
beforeEach(() => db.reset());

it('relays on two connections to one file never claim the same record', async () => {
  const messages = Array.from({ length: 300 }, (_, n) =>
    testWireMessage({ name: 'test.sqlite', payload: { n } }),
  );
  await db.log().outbox.add(messages.map(outboxEntry));
  const second = db.client();
  const stores = [db.log().outbox, db.log({}, second).outbox];
  const seen: string[] = [];
  for (let round = 0; round < 20 && seen.length < messages.length; round++) {
    const batches = await Promise.all(
      stores.flatMap((store, s) =>
        [0, 1, 2].map((i) =>
          store.claim({ limit: 9, leaseMs: 60_000, owner: `relay-${s}-${i}`, now: new Date() }),
        ),
      ),
    );
    for (const batch of batches) seen.push(...batch.map((record) => record.message.id));
  }
  expect(seen).toHaveLength(messages.length);
  expect(new Set(seen).size).toBe(messages.length);
});

describe('claims on a 100k-row table use the partial indexes (EXPLAIN QUERY PLAN)', () => {
  async function plan(statement: RecordedStatement): Promise<string[]> {
    const rows = await db.prisma.$queryRawUnsafe<{ detail: string }[]>(
      `EXPLAIN QUERY PLAN ${statement.sql}`,
      ...statement.params,
    );
    return rows.map((row) => row.detail);
  }

  it('outbox claim, per-key check and cleanup', async () => {
    const now = Date.now();
    await db.prisma.$executeRawUnsafe(
      `WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 102000)
       INSERT INTO herald_outbox (id, name, ordering_key, bucket, headers, body, status, attempts, created_at, lease_until, published_at)
       SELECT printf('%036d', x), 'bench.event', CASE WHEN x % 3 = 0 THEN NULL ELSE 'key-' || (x % 5000) END,
              x % 1024, '{}', X'00', CASE WHEN x > 100000 THEN 'pending' ELSE 'published' END, 0, ?, 0,
              CASE WHEN x > 100000 THEN NULL ELSE ? END
       FROM g`,
      now - 7_200_000,
      now - 7_200_000,
    );
    await db.prisma.$executeRawUnsafe('ANALYZE');
    const statements: RecordedStatement[] = [];
    const log = db.log({}, recordingClient(db.prisma, statements) as typeof db.prisma);
    const started = performance.now();
    expect(
      await log.outbox.claim({ limit: 100, leaseMs: 60_000, owner: 'explain', now: new Date() }),
    ).toHaveLength(100);
    const claimMs = performance.now() - started;
    const cleanupStarted = performance.now();
    expect(await log.outbox.deleteExpired(new Date(now - 3_600_000), 1000)).toBe(1000);
    const cleanupMs = performance.now() - cleanupStarted;

    const claim = (await plan(statements.find((s) => s.sql.includes('RETURNING'))!)).join('\n');
    expect(claim).toContain('USING INDEX herald_outbox_open_idx');
    expect(claim).toContain('USING INDEX herald_outbox_open_key_idx');
    expect(claim).not.toMatch(/SCAN (o|b|herald_outbox)$/m);
    const cleanup = (await plan(statements.find((s) => s.sql.startsWith('DELETE'))!)).join('\n');
    expect(cleanup).toContain('herald_outbox_published_idx');
    console.log(
      `SQLite outbox claim of 100 among 102,000 rows: ${claimMs.toFixed(1)} ms; cleanup of 1,000: ${cleanupMs.toFixed(1)} ms`,
    );
  });
});
