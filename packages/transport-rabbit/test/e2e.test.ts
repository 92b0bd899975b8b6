import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { PrismaPg } from '@prisma/adapter-pg';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitMqTransport } from '../src/index.js';
import { PrismaClient } from './e2e/generated/client/client.js';
import { BILLING_SERVICE, type Command, type Report, serviceEnv } from './e2e/shared.js';
import { rabbitUrl, requireRabbit, unique, waitUntil } from './helpers.js';

// PostgreSQL outbox (@herald/outbox-prisma) → RabbitMQ → inbox → handler, with the
// ordering and billing services in two separate processes and two databases.

const PG_URL = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';
const SERVICE_SCRIPT = fileURLToPath(new URL('./e2e/service.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const exchange = unique('herald-e2e');

function databaseUrl(name: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates the database if needed, applies Herald's migrations and the business table, and empties them. */
async function prepareDatabase(name: string, table: string, ddl: string): Promise<PrismaClient> {
  const admin = new PrismaClient({ adapter: new PrismaPg({ connectionString: PG_URL }) });
  try {
    const found = await admin.$queryRawUnsafe<unknown[]>(
      'SELECT 1 FROM pg_database WHERE datname = $1',
      name,
    );
    if (found.length === 0) await admin.$executeRawUnsafe(`CREATE DATABASE "${name}"`);
  } catch (error) {
    throw new Error(
      `PostgreSQL at ${PG_URL} is not usable (${(error as Error).message}). Start it with: bash tooling/services/up.sh postgres`,
    );
  } finally {
    await admin.$disconnect();
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl(name) }) });
  await prismaEventLog(prisma, { provider: 'postgresql', logger: silentLogger }).migrate();
  await prisma.$executeRawUnsafe(ddl);
  await prisma.$executeRawUnsafe(`TRUNCATE herald_outbox, herald_inbox, ${table}`);
  return prisma;
}

/** A service process and everything it reported. */
class Service {
  readonly reports: Report[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(role: 'ordering' | 'billing', database: string, name: string) {
    this.child = fork(SERVICE_SCRIPT, [], {
      cwd: PACKAGE_DIR,
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        ...serviceEnv({ role, databaseUrl: databaseUrl(database), rabbitUrl, exchange, process: name }),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.on('message', (message: Report) => this.reports.push(message));
  }

  send(command: Command): void {
    this.child.send(command);
  }

  errors(): string[] {
    return this.reports.flatMap((report) => (report.type === 'error' ? [report.message] : []));
  }

  async waitFor(type: Report['type'], timeoutMs = 30_000): Promise<void> {
    await waitUntil(
      () => this.reports.some((report) => report.type === type) || this.errors().length > 0,
      timeoutMs,
      () => `no "${type}" report`,
    );
    expect(this.errors()).toEqual([]);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.send({ type: 'stop' });
    return this.exited;
  }
}

const running: Service[] = [];
let orderingDb: PrismaClient;
let billingDb: PrismaClient;

beforeAll(async () => {
  await requireRabbit();
  orderingDb = await prepareDatabase(
    'herald_rabbit_e2e_ordering',
    'rabbit_e2e_order',
    'CREATE TABLE IF NOT EXISTS rabbit_e2e_order (id TEXT PRIMARY KEY, total INTEGER NOT NULL)',
  );
  billingDb = await prepareDatabase(
    'herald_rabbit_e2e_billing',
    'rabbit_e2e_charge',
    `CREATE TABLE IF NOT EXISTS rabbit_e2e_charge (
       seq BIGSERIAL PRIMARY KEY, order_id TEXT NOT NULL, event_id TEXT NOT NULL, process TEXT NOT NULL)`,
  );
}, 60_000);

afterAll(async () => {
  for (const service of running) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
  await orderingDb?.$disconnect();
  await billingDb?.$disconnect();
  // Remove this run's queues and exchange.
  const model = await connect(rabbitUrl);
  const channel = await model.createChannel();
  const queues = rabbitMqTransport({ url: rabbitUrl, exchange }).topology.queuesOf(BILLING_SERVICE);
  for (const queue of [queues.queue, queues.deadLetter, ...queues.retry.map((tier) => tier.queue)])
    await channel.deleteQueue(queue);
  await channel.deleteExchange(exchange);
  await model.close();
});

function start(role: 'ordering' | 'billing', name: string): Service {
  const service = new Service(
    role,
    role === 'ordering' ? 'herald_rabbit_e2e_ordering' : 'herald_rabbit_e2e_billing',
    name,
  );
  running.push(service);
  return service;
}

async function charges(): Promise<Array<{ orderId: string; process: string }>> {
  return billingDb.charge.findMany({ select: { orderId: true, process: true }, orderBy: { seq: 'asc' } });
}

describe('PostgreSQL outbox → RabbitMQ → inbox → handler, in two processes', () => {
  it('charges every committed order exactly once, across a billing crash; rolled-back orders never leave', async () => {
    const billing1 = start('billing', 'billing-1');
    await billing1.waitFor('ready');
    const ordering = start('ordering', 'ordering');
    await ordering.waitFor('ready');

    const wave1 = Array.from({ length: 40 }, (_, i) => ({ id: `order-a${i}`, total: i }));
    ordering.send({
      type: 'place',
      orders: [
        ...wave1.slice(0, 20),
        { id: 'order-rolled-back', total: 1, rollback: true },
        ...wave1.slice(20),
      ],
    });
    await ordering.waitFor('placed');
    await waitUntil(
      async () => (await charges()).length >= 5,
      30_000,
      () => 'billing-1 handled nothing',
    );

    // Crash billing mid-stream: unacked deliveries go back to the queue; the inbox absorbs any repeat.
    billing1.child.kill('SIGKILL');
    await billing1.exited;
    const wave2 = Array.from({ length: 40 }, (_, i) => ({ id: `order-b${i}`, total: i }));
    ordering.reports.length = 0;
    ordering.send({ type: 'place', orders: wave2 });
    await ordering.waitFor('placed');

    const billing2 = start('billing', 'billing-2');
    await billing2.waitFor('ready');
    const expected = [...wave1, ...wave2].map((order) => order.id).sort();
    await waitUntil(
      async () => new Set((await charges()).map((charge) => charge.orderId)).size === expected.length,
      60_000,
      () => 'not every order was charged',
    );
    // Quiet period: a duplicate or the rolled-back order would show up now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const rows = await charges();
    expect(rows.map((row) => row.orderId).sort()).toEqual(expected);
    expect(rows.some((row) => row.process === 'billing-2')).toBe(true);
    const outbox = await orderingDb.$queryRawUnsafe<Array<{ status: string; count: bigint }>>(
      'SELECT status, count(*) AS count FROM herald_outbox GROUP BY status',
    );
    expect(outbox.map((row) => ({ status: row.status, count: Number(row.count) }))).toEqual([
      { status: 'published', count: 80 },
    ]);
    expect(await orderingDb.order.count({ where: { id: 'order-rolled-back' } })).toBe(0);
    const inbox = await billingDb.$queryRawUnsafe<Array<{ status: string; count: bigint }>>(
      'SELECT status, count(*) AS count FROM herald_inbox GROUP BY status',
    );
    expect(inbox.map((row) => ({ status: row.status, count: Number(row.count) }))).toEqual([
      { status: 'processed', count: 80 },
    ]);

    expect(await ordering.stop()).toBe(0);
    expect(await billing2.stop()).toBe(0);
    expect([...ordering.errors(), ...billing2.errors()]).toEqual([]);
  }, 120_000);
});
