// What the engines and Prisma cost on e2e-rabbit's path before Herald does anything: the floor
// under its p50. Measured at the same low rate (one at a time, 100/s), in one process:
// - RabbitMQ: a persistent 1 KB message through a durable exchange and queue, published on a
//   confirm channel and consumed by another connection (amqplib, no Herald);
// - PostgreSQL: one statement in a transaction through Prisma's interactive `$transaction`
//   (the producer's and the inbox's way) and through `pg` directly (the relay's way);
// - the producer's business transaction (`UPDATE`, `INSERT`) through Prisma without `bus.publish`.
//   node scripts/latency-floors.ts   (HERALD_PG_URL, HERALD_RABBITMQ_URL as for the bench)
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { ACCOUNTS, benchUrl, prepareDatabase, resetTables } from '../src/db.ts';
import { createPrisma, migrateHerald } from '../src/herald.ts';
import { nowMs } from '../src/histogram.ts';

const SAMPLES = Number(process.env.FLOOR_SAMPLES ?? 600);
const GAP_MS = 10; // 100/s, like e2e-rabbit's low phase

function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, GAP_MS));

async function rabbit(): Promise<number[]> {
  const url = process.env.HERALD_RABBITMQ_URL!;
  const suffix = randomUUID().slice(0, 8);
  const exchange = `floor-x-${suffix}`;
  const queue = `floor-q-${suffix}`;
  const publisher = await amqp.connect(url);
  const consumer = await amqp.connect(url);
  try {
    const out = await publisher.createConfirmChannel();
    const inc = await consumer.createChannel();
    await out.assertExchange(exchange, 'topic', { durable: true });
    await inc.assertQueue(queue, { durable: true });
    await inc.bindQueue(queue, exchange, '#');
    await inc.prefetch(256);
    const latencies: number[] = [];
    let arrived: (() => void) | undefined;
    await inc.consume(queue, (message) => {
      if (!message) return;
      latencies.push(nowMs() - Number(message.properties.headers?.sent));
      inc.ack(message);
      arrived?.();
    });
    const body = Buffer.alloc(1024, 'x');
    for (let i = 0; i < SAMPLES; i++) {
      const got = new Promise<void>((resolve) => (arrived = resolve));
      out.publish(exchange, 'floor', body, { persistent: true, headers: { sent: String(nowMs()) } });
      await got;
      await pause();
    }
    await inc.deleteQueue(queue);
    await out.deleteExchange(exchange);
    return latencies;
  } finally {
    await publisher.close().catch(() => undefined);
    await consumer.close().catch(() => undefined);
  }
}

const url = benchUrl(process.env.HERALD_PG_URL!);
await prepareDatabase(process.env.HERALD_PG_URL!);
await migrateHerald(url);
await resetTables(url);
const prisma = createPrisma(url, 10);
const pool = new pg.Pool({ connectionString: url, max: 10 });

const prismaStatement: number[] = [];
const prismaTx: number[] = [];
const pgStatement: number[] = [];
const pgTx: number[] = [];
const businessTx: number[] = [];
for (let i = 0; i < SAMPLES; i++) {
  let start = nowMs();
  await prisma.$transaction(async (tx) => {
    const before = nowMs();
    await tx.$executeRawUnsafe('SELECT 1');
    prismaStatement.push(nowMs() - before);
  });
  prismaTx.push(nowMs() - start);
  start = nowMs();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const before = nowMs();
    await client.query('SELECT 1');
    pgStatement.push(nowMs() - before);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  pgTx.push(nowMs() - start);
  start = nowMs();
  const account = 1 + (i % ACCOUNTS);
  await prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('UPDATE bench_accounts SET balance = balance + $1 WHERE id = $2', 1, account);
    await tx.$executeRawUnsafe(
      'INSERT INTO bench_orders (id, account_id, amount) VALUES ($1, $2, $3)',
      randomUUID(),
      account,
      1,
    );
  });
  businessTx.push(nowMs() - start);
  await pause();
}
await prisma.$disconnect();
await pool.end();
const broker = await rabbit();

console.log(`latency floors, ${SAMPLES} samples each at 100/s, one at a time`);
console.log(`RabbitMQ persistent 1 KB, publish → consumer (amqplib)   ${percentiles(broker)}`);
console.log(`Prisma $transaction with one statement                  ${percentiles(prismaTx)}`);
console.log(`  its statement                                         ${percentiles(prismaStatement)}`);
console.log(`pg BEGIN; statement; COMMIT                             ${percentiles(pgTx)}`);
console.log(`  its statement                                         ${percentiles(pgStatement)}`);
console.log(`the producer's transaction through Prisma, no publish   ${percentiles(businessTx)}`);
