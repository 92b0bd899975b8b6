import { InProcessTransport, type Logger, silentLogger } from '@herald/core';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Buses,
  builder,
  claimSkipsLockedRows,
  type EngineHandle,
  eventually,
  InProcessBroker,
  OrderPlaced,
  openEngine,
  type RecordedStatement,
  recordingClient,
  sleep,
  unique,
} from './helpers.js';

// What is special about PostgreSQL: LISTEN/NOTIFY wake-ups, and index-only claims (EXPLAIN).
let db: EngineHandle;
const buses = new Buses();

beforeAll(async () => {
  db = await openEngine('postgresql');
});
afterAll(() => db?.close());
beforeEach(() => db.reset());
afterEach(() => buses.stopAll());

describe('LISTEN/NOTIFY', () => {
  /** A relay that polls only every 10 s, an API service that only stores (no relay), and a consumer. */
  async function services(logger: Logger = silentLogger) {
    const broker = new InProcessBroker();
    const relayLog = db.log({ notify: { connectionString: db.url }, logger }, db.client());
    const relay = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog(relayLog)
      .configure({ pollingInterval: 10_000 })
      .build();
    const api = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog(db.log(), { sending: false })
      .build();
    const handledAt = new Map<string, number>();
    const billing = builder('billing', new InProcessTransport({ broker }))
      .handle(OrderPlaced, async (event) => void handledAt.set(event.orderId, Date.now()), {
        name: `b-${unique()}`,
      })
      .build();
    await buses.start(billing, relay, api);
    await relayLog.outbox.whenListening();
    await sleep(100); // the relay's first claim found nothing; it now sleeps for the polling interval
    return { api, relayLog, handledAt };
  }

  async function publishAndTime(
    api: Awaited<ReturnType<typeof services>>['api'],
    handledAt: Map<string, number>,
  ) {
    const orderId = `o-${unique()}`;
    const committedAt = await db.prisma.$transaction(async (tx) => {
      await tx.testOrder.create({ data: { id: orderId, note: 'notify' } });
      await api.publish(new OrderPlaced({ orderId, n: 1 }), { tx });
      return Date.now();
    });
    await eventually(() => handledAt.has(orderId), 5_000);
    return handledAt.get(orderId)! - committedAt;
  }

  it('wakes the relay right after another process commits, without waiting for the 10 s poll', async () => {
    const { api, handledAt } = await services();
    for (let i = 0; i < 3; i++) {
      expect(await publishAndTime(api, handledAt)).toBeLessThan(1_000);
    }
  });

  it('reconnects the LISTEN connection after it is killed and keeps waking the relay', async () => {
    const warnings: string[] = [];
    const { api, handledAt } = await services({
      ...silentLogger,
      warn: (message) => void warnings.push(message),
    });
    const listeners = () =>
      db.prisma.$queryRawUnsafe<{ pid: number }[]>(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'herald-listen' AND datname = current_database()`,
      );
    const [before] = await listeners();
    expect(before).toBeDefined();
    await db.prisma.$queryRawUnsafe('SELECT pg_terminate_backend($1)', before!.pid);
    await eventually(async () => {
      const now = await listeners();
      return now.length === 1 && now[0]!.pid !== before!.pid;
    });
    await sleep(50); // LISTEN runs right after connect
    expect(await publishAndTime(api, handledAt)).toBeLessThan(1_000);
    expect(warnings).toEqual(['PostgreSQL LISTEN connection lost; reconnecting (polling covers the gap)']);
  });

  /** A service relaying `log` (polling only every 10 s) to a billing handler, on an in-process broker. */
  async function relayingService(log: ReturnType<EngineHandle['log']>) {
    const broker = new InProcessBroker();
    const service = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog(log)
      .configure({ pollingInterval: 10_000 })
      .build();
    const handled: string[] = [];
    const billing = builder('billing', new InProcessTransport({ broker }))
      .handle(OrderPlaced, async (event) => void handled.push(event.orderId), { name: `b-${unique()}` })
      .build();
    await buses.start(billing, service);
    return { service, handled };
  }

  it('wakesOnCommit: present only with a listener, true while LISTEN is in effect, false while its connection is down', async () => {
    expect(db.log().outbox.wakesOnCommit, 'no LISTEN connection').toBeUndefined();
    expect(db.log({ notify: false }).outbox.wakesOnCommit).toBeUndefined();
    const log = db.log({ notify: { connectionString: db.url } });
    try {
      expect(log.outbox.wakesOnCommit?.(), 'nobody subscribed: not listening yet').toBe(false);
      const stop = log.outbox.onWake(() => undefined);
      await log.outbox.whenListening();
      expect(log.outbox.wakesOnCommit?.()).toBe(true);
      await db.prisma.$queryRawUnsafe(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'herald-listen' AND datname = current_database()`,
      );
      await eventually(() => log.outbox.wakesOnCommit?.() === false, 5_000);
      await eventually(() => log.outbox.wakesOnCommit?.() === true, 5_000);
      stop();
      expect(log.outbox.wakesOnCommit?.(), 'the last subscriber left').toBe(false);
    } finally {
      await log.outbox.close();
    }
  });

  it('a relay that publishes in its own process waits for the NOTIFY of the commit instead of probing meanwhile', async () => {
    const log = db.log({ notify: { connectionString: db.url } });
    let claims = 0;
    const claimLocked = log.outbox.claimLocked!.bind(log.outbox);
    Object.assign(log.outbox, {
      claimLocked: (...args: Parameters<typeof claimLocked>) => {
        claims++;
        return claimLocked(...args);
      },
    });
    const { service, handled } = await relayingService(log);
    await log.outbox.whenListening();
    await sleep(100); // the relay's first look found nothing
    claims = 0;
    const committedAt = await db.prisma.$transaction(async (tx) => {
      await service.publish(new OrderPlaced({ orderId: 'o-own', n: 1 }), { tx });
      await sleep(300); // a slow transaction: looking for its record meanwhile would find nothing
      expect(claims, 'no claim while the transaction is open').toBe(0);
      return Date.now();
    });
    await eventually(() => handled.length === 1, 5_000);
    expect(Date.now() - committedAt, 'woken by the NOTIFY, not the 10 s poll').toBeLessThan(1_000);
    expect(claims).toBeLessThanOrEqual(2);
  });

  it('refuses a LISTEN connection on another database than the outbox: an error names both, and the relay keeps looking for its own commits', async () => {
    const errors: Array<{ message: string; error: string }> = [];
    const logger: Logger = {
      ...silentLogger,
      error: (message, fields) => void errors.push({ message, error: String(fields?.error) }),
    };
    const elsewhere = new URL(db.url);
    elsewhere.pathname = '/postgres'; // PostgreSQL's maintenance database: NOTIFY never crosses databases
    const log = db.log({ notify: { connectionString: elsewhere.toString() }, logger });
    const { service, handled } = await relayingService(log);
    await log.outbox.whenListening();
    expect(errors).toEqual([
      {
        message: 'Cannot listen for outbox notifications; relying on polling',
        // The outbox's database is named too, redacted where its name contains the password.
        error: expect.stringContaining('points at database "postgres", but the outbox is in "'),
      },
    ]);
    expect(errors[0]!.error).not.toContain(new URL(db.url).password || '\u0000');
    expect(log.outbox.wakesOnCommit?.()).toBe(false);
    const committedAt = await db.prisma.$transaction(async (tx) => {
      await service.publish(new OrderPlaced({ orderId: 'o-elsewhere', n: 1 }), { tx });
      return Date.now();
    });
    await eventually(() => handled.length === 1, 5_000);
    expect(
      Date.now() - committedAt,
      'found by the relay looking after the publish, not the 10 s poll',
    ).toBeLessThan(1_000);
  });

  it('notifies on commit only: a rolled-back publish sends nothing', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    const received: string[] = [];
    listener.on('notification', (message) => received.push(message.channel));
    await listener.connect();
    try {
      await listener.query('LISTEN herald_outbox');
      const broker = new InProcessBroker();
      const api = builder('ordering', new InProcessTransport({ broker }))
        .useEventLog(db.log(), { sending: false })
        .build();
      await buses.start(api);
      await db.prisma
        .$transaction(async (tx) => {
          await api.publish(new OrderPlaced({ orderId: 'o-rolled-back', n: 1 }), { tx });
          throw new Error('rollback');
        })
        .catch(() => undefined);
      await sleep(200);
      expect(received).toEqual([]);
      await db.prisma.$transaction((tx) =>
        api.publish(new OrderPlaced({ orderId: 'o-committed', n: 2 }), { tx }),
      );
      await eventually(() => received.length === 1);
      expect(received).toEqual(['herald_outbox']);
    } finally {
      await listener.end();
    }
  });
});

it('a claim skips rows another transaction holds instead of waiting for them', () =>
  claimSkipsLockedRows(db));

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

async function explain(
  statement: RecordedStatement,
  analyze = false,
): Promise<{ plan: PlanNode; ms?: number }> {
  const options = analyze ? 'ANALYZE, FORMAT JSON' : 'FORMAT JSON';
  const run = (tx: typeof db.prisma | Parameters<Parameters<typeof db.prisma.$transaction>[0]>[0]) =>
    tx.$queryRawUnsafe<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time'?: number }] }[]>(
      `EXPLAIN (${options}) ${statement.sql}`,
      ...statement.params,
    );
  if (!analyze) {
    const [row] = await run(db.prisma);
    return { plan: row!['QUERY PLAN'][0].Plan };
  }
  // EXPLAIN ANALYZE executes the statement: measure it in a transaction that rolls back.
  let result: { plan: PlanNode; ms?: number } | undefined;
  await db.prisma
    .$transaction(async (tx) => {
      const [row] = await run(tx);
      result = { plan: row!['QUERY PLAN'][0].Plan, ms: row!['QUERY PLAN'][0]['Execution Time'] };
      throw new Error('rollback');
    })
    .catch(() => undefined);
  return result!;
}

describe('bodies are read as base64 text', () => {
  // encode(body, 'base64') wraps lines every 76 characters: a body longer than 57 bytes crosses
  // several lines, and every byte value must come back exactly from each read path.
  it('a 10 KB body of every byte value comes back exactly from list, claim and claimLocked', async () => {
    const outbox = db.log().outbox;
    const body = Uint8Array.from({ length: 10_240 }, (_, i) => (i * 7 + (i >> 8)) % 256);
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    await outbox.add(
      ids.map((id) => ({
        message: { id, name: 'test.binary', headers: { 'herald-id': id }, body },
        bucket: 1,
      })),
    );
    const listed = await outbox.list({ status: 'pending' });
    expect(listed.map((r) => r.message.body)).toEqual([body, body]);
    const request = { limit: 1, leaseMs: 30_000, owner: 'test', now: new Date() };
    const [leased] = await outbox.claim(request);
    expect(leased?.message.body).toEqual(body);
    let locked: Uint8Array | undefined;
    await outbox.claimLocked!(request, async (records) => {
      locked = records[0]?.message.body;
      return { published: records.map((r) => r.message.id), held: [] };
    });
    expect(locked).toEqual(body);
    expect(locked?.constructor).toBe(Uint8Array);
  });
});

describe('claims on a 100k-row table use the partial indexes (EXPLAIN)', () => {
  it('outbox claim, per-key check and cleanup', async () => {
    const now = Date.now();
    const fill = (from: number, to: number, status: string, publishedAt: number | null) =>
      db.prisma.$executeRawUnsafe(
        `INSERT INTO herald_outbox (id, name, ordering_key, bucket, headers, body, status, attempts, created_at, lease_until, published_at)
         SELECT md5(g::text)::uuid::text, 'bench.event', CASE WHEN g % 3 = 0 THEN NULL ELSE 'key-' || (g % 5000) END,
                g % 1024, '{}', '\\x00'::bytea, $1, 0, $2::bigint, 0, $3::bigint
         FROM generate_series($4::int, $5::int) AS g`,
        status,
        now - 7_200_000,
        publishedAt,
        from,
        to,
      );
    await fill(1, 100_000, 'published', now - 7_200_000);
    await fill(100_001, 102_000, 'pending', null);
    await db.prisma.$executeRawUnsafe('ANALYZE herald_outbox');

    const statements: RecordedStatement[] = [];
    const log = db.log({}, recordingClient(db.prisma, statements) as typeof db.prisma);
    const claimed = await log.outbox.claim({
      limit: 100,
      leaseMs: 60_000,
      owner: 'explain',
      now: new Date(),
    });
    expect(claimed.length).toBeGreaterThan(0);
    await log.outbox.deleteExpired(new Date(now - 3_600_000), 1000);
    const claim = statements.find((s) => s.sql.includes('FOR UPDATE SKIP LOCKED'))!;
    const cleanup = statements.find((s) => s.sql.startsWith('DELETE'))!;

    const { plan, ms } = await explain(claim, true);
    const claimNodes = nodes(plan);
    const indexes = claimNodes.map((node) => node['Index Name']).filter(Boolean);
    expect(indexes).toContain('herald_outbox_open_idx');
    expect(indexes).toContain('herald_outbox_open_key_idx');
    expect(claimNodes.filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
    console.log(
      `PostgreSQL outbox claim of 100 among 102,000 rows: ${ms} ms (indexes: ${[...new Set(indexes)].join(', ')})`,
    );

    const deletion = await explain(cleanup, true);
    const cleanupNodes = nodes(deletion.plan);
    expect(cleanupNodes.map((node) => node['Index Name'])).toContain('herald_outbox_published_idx');
    expect(cleanupNodes.filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
    console.log(`PostgreSQL cleanup of 1,000 expired among 100,000 published rows: ${deletion.ms} ms`);
  });

  it('a sharded claim reads only its shard, in sequence order, from the per-shard index (migrate with relayShards)', async () => {
    const now = Date.now();
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO herald_outbox (id, name, ordering_key, bucket, headers, body, status, attempts, created_at, lease_until, published_at)
       SELECT md5(g::text)::uuid::text, 'bench.event', CASE WHEN g % 3 = 0 THEN NULL ELSE 'key-' || (g % 5000) END,
              g % 1024, '{}', '\\x00'::bytea, CASE WHEN g > 80000 THEN 'pending' ELSE 'published' END, 0, $1::bigint, 0,
              CASE WHEN g > 80000 THEN NULL ELSE $1::bigint END
       FROM generate_series(1, 120000) AS g`,
      now - 60_000,
    );
    await db.log().migrate({ relayShards: 8 });
    await db.prisma.$executeRawUnsafe('ANALYZE herald_outbox');
    const statements: RecordedStatement[] = [];
    const log = db.log({}, recordingClient(db.prisma, statements) as typeof db.prisma);
    const shard = { index: 3, count: 8 };
    const claimed = await log.outbox.claim({
      limit: 100,
      leaseMs: 60_000,
      owner: 'explain',
      now: new Date(),
      shard,
    });
    expect(claimed.length).toBeGreaterThan(0);
    expect(claimed.every((record) => record.bucket % 8 === 3)).toBe(true);
    const claim = statements.find((s) => s.sql.includes('FOR UPDATE SKIP LOCKED'))!;
    const { plan, ms } = await explain(claim, true);
    const indexes = nodes(plan)
      .map((node) => node['Index Name'])
      .filter(Boolean);
    expect(indexes).toContain('herald_outbox_shard8_idx');
    expect(nodes(plan).filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
    // A range of the index in sequence order, stopped at the limit: not every row of the shard
    // fetched and sorted (what a misestimated shard size made the planner choose).
    const shardScan = nodes(plan).find((node) => node['Index Name'] === 'herald_outbox_shard8_idx');
    expect(shardScan?.['Node Type']).toBe('Index Scan');
    expect(nodes(plan).filter((node) => node['Node Type'] === 'Sort')).toEqual([]);
    // The same claim without the per-shard index walks the open-records index and filters by bucket.
    await db.prisma.$executeRawUnsafe('DROP INDEX herald_outbox_shard8_idx');
    const without = await explain(claim, true);
    console.log(
      `PostgreSQL sharded claim (shard 3 of 8) of 100 among 40,000 pending rows: ${ms} ms with the shard index ` +
        `(${[...new Set(indexes)].join(', ')}), ${without.ms} ms without`,
    );
  });

  it('inbox retry claim', async () => {
    const now = Date.now();
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO herald_inbox (message_id, handler, event_name, ordering_key, status, attempts, received_at, updated_at,
                                 next_attempt_at, lease_until, headers, body)
       SELECT md5(g::text), 'handler-' || (g % 7), 'bench.event', CASE WHEN g % 2 = 0 THEN NULL ELSE 'key-' || (g % 3000) END,
              CASE WHEN g > 100000 THEN 'failed' ELSE 'processed' END, 1, $1::bigint, $1::bigint,
              CASE WHEN g > 100000 THEN $1::bigint ELSE NULL END, 0,
              CASE WHEN g > 100000 THEN '{}' ELSE NULL END, CASE WHEN g > 100000 THEN '\\x00'::bytea ELSE NULL END
       FROM generate_series(1, 101000) AS g`,
      now - 60_000,
    );
    await db.prisma.$executeRawUnsafe('ANALYZE herald_inbox');
    const statements: RecordedStatement[] = [];
    const log = db.log({}, recordingClient(db.prisma, statements) as typeof db.prisma);
    expect(
      (await log.inbox.claimDue({ limit: 100, leaseMs: 60_000, owner: 'explain', now: new Date() })).length,
    ).toBeGreaterThan(0);
    const claim = statements.find((s) => s.sql.includes('FOR UPDATE SKIP LOCKED'))!;
    const { plan, ms } = await explain(claim, true);
    const indexes = nodes(plan)
      .map((node) => node['Index Name'])
      .filter(Boolean);
    expect(indexes).toContain('herald_inbox_open_idx');
    expect(nodes(plan).filter((node) => node['Node Type'] === 'Seq Scan')).toEqual([]);
    console.log(
      `PostgreSQL inbox claim of 100 among 101,000 rows: ${ms} ms (indexes: ${[...new Set(indexes)].join(', ')})`,
    );
  });
});
