// Where does bus.publish inside a Prisma transaction spend its time? Runs the produce transaction in
// variants, interleaved in short rounds in one process (load shifts hit every variant alike), and
// reports tx/s and this process's CPU per transaction (load-insensitive).
//   node scripts/produce-probe.ts   (BENCH_DATABASE, HERALD_PG_URL as for the bench)
import { randomUUID } from 'node:crypto';
import { createIntegrationEventBus, silentLogger, uuidv7 } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { ACCOUNTS, benchUrl, POOL_SIZE, prepareDatabase, resetTables } from '../src/db.ts';
import { createPrisma, migrateHerald } from '../src/herald.ts';
import { nowMs } from '../src/histogram.ts';
import { benchEvent, benchEventClass } from '../src/payload.ts';

const url = benchUrl(process.env.HERALD_PG_URL!);
await prepareDatabase(process.env.HERALD_PG_URL!);
await migrateHerald(url);
await resetTables(url);
const prisma = createPrisma(url, POOL_SIZE);
const Event = benchEventClass('bench.probe');
const bus = (notify: boolean) =>
  createIntegrationEventBus({ service: 'probe', logger: silentLogger })
    .useEventLog(prismaEventLog(prisma, { provider: 'postgresql', notify: notify ? {} : false }), {
      sending: false,
    })
    .build();
const busNotify = bus(true);
const busQuiet = bus(false);
const body = Buffer.from(JSON.stringify({ x: 'x'.repeat(1000) }));
const insert = (notify: boolean) =>
  `${notify ? 'WITH inserted AS (' : ''}INSERT INTO herald_outbox (id, name, ordering_key, bucket, headers, body, status, attempts, created_at, next_attempt_at, lease_until)
   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING${notify ? ` RETURNING 1) SELECT pg_notify('herald_outbox', '') FROM (SELECT 1 FROM inserted LIMIT 1) AS any_row` : ''}`;
const rawOutbox = (tx: any, notify: boolean) =>
  tx.$executeRawUnsafe.call(
    tx,
    insert(notify),
    randomUUID(),
    'bench.probe',
    null,
    1,
    '{"herald-id":"x"}',
    body,
    'pending',
    0,
    Date.now(),
    null,
    0,
  );

// Herald's own statement, captured once from a publish, replayed as a plain raw statement.
let captured: { sql: string; params: unknown[] } | undefined;
await busQuiet.publish(benchEvent(Event, 0, 0), {
  tx: {
    $executeRawUnsafe: async (sql: string, ...params: unknown[]) => {
      captured = { sql, params };
      return 1;
    },
    $queryRawUnsafe: async () => [],
  },
});
if (process.env.PROBE_SHOW) console.log(captured);
const heraldStatement = (tx: any, v7: boolean) => {
  const params = [...captured!.params];
  params[0] = v7 ? uuidv7() : randomUUID();
  return tx.$executeRawUnsafe(captured!.sql, ...params);
};
type Extra = (tx: any, seq: number) => Promise<unknown>;
const variants: Record<string, Extra | undefined> = {
  'prisma-only': undefined,
  'raw insert': (tx) => rawOutbox(tx, false),
  "herald's statement, raw": (tx) => heraldStatement(tx, false),
  "herald's statement, raw, uuidv7": (tx) => heraldStatement(tx, true),
  'raw insert + NOTIFY': (tx) => rawOutbox(tx, true),
  'publish, notify off': (tx, seq) => busQuiet.publish(benchEvent(Event, seq, 0), { tx }),
  publish: (tx, seq) => busNotify.publish(benchEvent(Event, seq, 0), { tx }),
};
const only = process.env.PROBE_ONLY?.split('|');
const names = Object.keys(variants).filter((n) => !only || only.includes(n));
const totals = new Map(names.map((n) => [n, { done: 0, ms: 0, cpuUs: 0 }]));
// Server side: time and WAL of each statement (pg_stat_statements of this database only).
await prisma.$executeRawUnsafe('SELECT pg_stat_statements_reset()');
let seq = 0;
const seconds = Number(process.env.PROBE_SECONDS ?? 2);
const rounds = Number(process.env.PROBE_ROUNDS ?? 4);
for (let round = 0; round < rounds; round++) {
  for (const name of round % 2 === 0 ? names : [...names].reverse()) {
    const extra = variants[name];
    const start = nowMs();
    const cpu = process.cpuUsage();
    const deadline = start + seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: Number(process.env.PROBE_CONCURRENCY ?? POOL_SIZE) }, async () => {
        while (nowMs() < deadline) {
          const s = ++seq;
          await prisma.$transaction(async (tx) => {
            const account = (s % ACCOUNTS) + 1;
            await tx.$executeRawUnsafe(
              'UPDATE bench_accounts SET balance = balance + $1 WHERE id = $2',
              1,
              account,
            );
            await tx.$executeRawUnsafe(
              'INSERT INTO bench_orders (id, account_id, amount) VALUES ($1, $2, $3)',
              randomUUID(),
              account,
              1,
            );
            if (extra) await extra(tx, s);
          });
          done++;
        }
      }),
    );
    const used = process.cpuUsage(cpu);
    const total = totals.get(name)!;
    total.done += done;
    total.ms += nowMs() - start;
    total.cpuUs += used.user + used.system;
  }
}
const base = totals.get('prisma-only');
for (const [name, t] of totals) {
  const tps = (t.done / t.ms) * 1000;
  console.log(
    `${name.padEnd(22)} ${tps.toFixed(0).padStart(6)} tx/s  ratio ${base ? (tps / ((base.done / base.ms) * 1000)).toFixed(2) : '-'}  client CPU ${(t.cpuUs / t.done).toFixed(0)} µs/tx`,
  );
}
const statements = await prisma.$queryRawUnsafe<
  Array<{ query: string; calls: bigint; mean_ms: number; wal: number }>
>(
  `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query, calls, mean_exec_time AS mean_ms,
     (wal_bytes / calls)::float8 AS wal
   FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND calls > 100 ORDER BY calls DESC LIMIT 12`,
);
for (const s of statements)
  console.log(
    `${String(s.calls).padStart(7)} calls ${s.mean_ms.toFixed(3).padStart(7)} ms ${String(Math.round(s.wal)).padStart(6)} WAL B  ${s.query}`,
  );
await prisma.$disconnect();
