// Where the consumer's part of e2e-rabbit's path goes at 100/s, stage by stage, in one process:
// a publishing bus without an event log sends each event directly; the consuming bus (RabbitMQ,
// Prisma inbox on PostgreSQL, no-op handler) stamps the delivery reaching core, the inbox
// transaction asked for, its callback entered (after BEGIN), beginMany sent and answered, the
// handler, and the commit. Then, interleaved, the same inbox transaction's opening without the
// consumer around it: `BEGIN` and the inbox entry's `INSERT` (Herald's `beginMany`) through Prisma's
// `$transaction`, and the same SQL on a `pg` client: the floor each driver puts under the stages.
//   node scripts/consumer-probe.ts   (HERALD_PG_URL, HERALD_RABBITMQ_URL as for the bench)
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createIntegrationEventBus, type InboxStore, silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { rabbitMqTransport } from '@herald/transport-rabbit';
import pg from 'pg';
import { deleteRabbitTopology } from '../src/brokers.ts';
import { benchUrl, prepareDatabase } from '../src/db.ts';
import { createPrisma, migrateHerald, stampDeliveries } from '../src/herald.ts';
import { LatencyRecorder, nowMs } from '../src/histogram.ts';
import { benchEvent, benchEventClass } from '../src/payload.ts';

const SAMPLES = Number(process.env.PROBE_SAMPLES ?? 600);
const WARMUP = 100;
const GAP_MS = 10;
const STAGES = [
  'sent',
  'received',
  'txAsked',
  'txEntered',
  'beginSent',
  'beginDone',
  'handled',
  'committed',
] as const;
type Stage = (typeof STAGES)[number];

const stamps = new Map<string, Partial<Record<Stage, number>>>();
interface OpenTx {
  txAsked: number;
  txEntered?: number;
  ids: string[];
}
let openTx: OpenTx | undefined;

function stampedInbox(inbox: InboxStore): InboxStore {
  return new Proxy(inbox, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'transaction')
        return async (work: (tx: unknown) => Promise<unknown>) => {
          const tx: OpenTx = { txAsked: nowMs(), ids: [] };
          const result = await target.transaction(async (handle) => {
            tx.txEntered = nowMs();
            openTx = tx;
            return work(handle);
          });
          const committed = nowMs();
          for (const id of tx.ids) {
            const s = stamps.get(id);
            if (s) s.committed = committed;
          }
          return result;
        };
      if (property === 'beginMany')
        return async (entries: Array<{ messageId: string }>, ...rest: unknown[]) => {
          const beginSent = nowMs();
          const result = await (value as (...a: unknown[]) => Promise<unknown>).call(
            target,
            entries,
            ...rest,
          );
          const beginDone = nowMs();
          for (const entry of entries) {
            const s = stamps.get(entry.messageId);
            if (!s || !openTx) continue;
            Object.assign(s, { beginSent, beginDone, txAsked: openTx.txAsked, txEntered: openTx.txEntered });
            openTx.ids.push(entry.messageId);
          }
          return result;
        };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

async function main() {
  const pgUrl = process.env.HERALD_PG_URL!;
  const rabbitUrl = process.env.HERALD_RABBITMQ_URL!;
  await prepareDatabase(pgUrl);
  const dbUrl = benchUrl(pgUrl);
  await migrateHerald(dbUrl);
  const suffix = randomUUID().slice(0, 8);
  const exchange = `probe-x-${suffix}`;
  const Event = benchEventClass(`probe.event.${suffix}`);

  const prisma = createPrisma(dbUrl);
  const log = prismaEventLog(prisma, { provider: 'postgresql', notify: false, logger: silentLogger });
  const consumer = createIntegrationEventBus({ service: `probe-con-${suffix}`, logger: silentLogger });
  // Message id → [delivery handed to core], stamped by the bench's own transport wrapper.
  const received = new Map<string, number[]>();
  consumer.useTransport(stampDeliveries(rabbitMqTransport({ url: rabbitUrl, exchange }), received));
  const inbox = stampedInbox(log.inbox);
  consumer.useEventLog({ outbox: log.outbox, inbox }, { sending: false });
  let arrived: (() => void) | undefined;
  consumer.handle(Event, async (_event, context) => {
    const s = stamps.get(context.envelope.id);
    if (s) s.handled = nowMs();
    arrived?.();
  });
  const bus = consumer.build();
  await bus.start();

  // The publisher runs on a thread of its own, so its confirms do not share the consumer's event loop.
  const publisher = new Worker(new URL(import.meta.url), {
    workerData: { rabbitUrl, exchange, eventName: Event.eventName },
  });
  await once(publisher, 'message');

  const rows: Array<Partial<Record<Stage, number>>> = [];
  for (let seq = 0; seq < SAMPLES + WARMUP; seq++) {
    const got = new Promise<void>((resolve) => (arrived = resolve));
    const id = randomUUID();
    const s: Partial<Record<Stage, number>> = { sent: nowMs() };
    stamps.set(id, s);
    publisher.postMessage({ event: { seq, t: nowMs() }, id });
    await got;
    // The commit's stamp is taken when the transaction resolves, after the handler.
    await new Promise((resolve) => setTimeout(resolve, GAP_MS));
    s.received = received.get(id)?.[0];
    if (seq >= WARMUP) rows.push(s);
  }
  publisher.postMessage('stop');
  await once(publisher, 'exit');
  await bus.stop();
  await deleteRabbitTopology(rabbitUrl, exchange, [`probe-con-${suffix}`]);

  const line = (label: string, values: number[]) => {
    const recorder = new LatencyRecorder();
    for (const value of values) if (Number.isFinite(value)) recorder.record(value);
    const at = (q: number) => recorder.percentile(q).toFixed(3);
    console.log(label.padEnd(40), `p50 ${at(50)} ms`, `p99 ${at(99)} ms`);
  };
  console.log(`consumer stages (${rows.length} events at 100/s):`);
  for (let i = 1; i < STAGES.length; i++) {
    const from = STAGES[i - 1]!;
    const to = STAGES[i]!;
    line(
      `  ${from} → ${to}`,
      rows.map((r) => (r[to] ?? Number.NaN) - (r[from] ?? Number.NaN)),
    );
  }
  line(
    '  received → handled',
    rows.map((r) => (r.handled ?? Number.NaN) - (r.received ?? Number.NaN)),
  );

  const floors = await inboxOpeningFloors(prisma, log.inbox, dbUrl);
  console.log(`the inbox transaction's opening alone (${SAMPLES} each, interleaved):`);
  for (const [label, values] of Object.entries(floors)) line(`  ${label}`, values);
  await prisma.$executeRawUnsafe(`DELETE FROM herald_inbox WHERE handler LIKE 'probe-%'`);
  await prisma.$disconnect();
}

/** `BEGIN` and the inbox entry's `INSERT`, through Prisma (Herald's `beginMany`) and on `pg` (the same SQL). */
async function inboxOpeningFloors(
  prisma: ReturnType<typeof createPrisma>,
  inbox: InboxStore,
  dbUrl: string,
): Promise<Record<string, number[]>> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  const out: Record<string, number[]> = {
    'Prisma: $transaction → callback (BEGIN)': [],
    'Prisma: beginMany (INSERT … RETURNING)': [],
    'pg: BEGIN': [],
    'pg: the same INSERT … RETURNING': [],
  };
  const insert = `INSERT INTO "herald_inbox" ("message_id", "handler", "event_name", "ordering_key", "status",
    "attempts", "received_at", "updated_at", "lease_until") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT ("handler", "message_id") DO NOTHING RETURNING handler, message_id`;
  try {
    for (let i = 0; i < SAMPLES + WARMUP; i++) {
      const keep = i >= WARMUP;
      const t0 = nowMs();
      await prisma.$transaction(async (tx) => {
        const t1 = nowMs();
        const now = new Date();
        await inbox.beginMany(
          [
            {
              messageId: randomUUID(),
              handler: 'probe-prisma',
              eventName: 'probe',
              orderingKey: null,
              leaseMs: 0,
              now,
            },
          ],
          tx,
        );
        if (keep) {
          out['Prisma: $transaction → callback (BEGIN)']!.push(t1 - t0);
          out['Prisma: beginMany (INSERT … RETURNING)']!.push(nowMs() - t1);
        }
      });
      await new Promise((resolve) => setTimeout(resolve, GAP_MS / 2));
      const t2 = nowMs();
      await client.query('BEGIN');
      const t3 = nowMs();
      const at = Date.now();
      await client.query(insert, [randomUUID(), 'probe-pg', 'probe', null, 'processed', 1, at, at, 0]);
      const t4 = nowMs();
      await client.query('COMMIT');
      if (keep) {
        out['pg: BEGIN']!.push(t3 - t2);
        out['pg: the same INSERT … RETURNING']!.push(t4 - t3);
      }
      await new Promise((resolve) => setTimeout(resolve, GAP_MS / 2));
    }
  } finally {
    await client.end();
  }
  return out;
}

/** The worker: publishes what the main thread posts, directly (no event log). */
async function publishFromWorker(data: { rabbitUrl: string; exchange: string; eventName: string }) {
  const Event = benchEventClass(data.eventName);
  const publisher = createIntegrationEventBus({ service: 'probe-pub', logger: silentLogger });
  publisher.useTransport(rabbitMqTransport({ url: data.rabbitUrl, exchange: data.exchange }));
  const bus = publisher.build();
  await bus.start();
  parentPort!.on('message', async (message: 'stop' | { event: { seq: number; t: number }; id: string }) => {
    if (message === 'stop') {
      await bus.stop();
      process.exit(0);
    }
    await bus.publish(benchEvent(Event, message.event.seq, message.event.t), { id: message.id });
  });
  parentPort!.postMessage('ready');
}

if (isMainThread) await main();
else await publishFromWorker(workerData);
