import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { emptyTables, postgresTestDatabase, postgresTestDatabaseUrl } from '@herald/testkit/engines';
import { PrismaPg } from '@prisma/adapter-pg';
import { connect } from 'amqplib';
import { expect } from 'vitest';
import { rabbitMqTransport } from '../../src/index.js';
import { rabbitUrl, waitUntil } from '../helpers.js';
import { PrismaClient } from './generated/client/client.js';
import { BILLING_SERVICE, type Command, type Report, serviceEnv } from './shared.js';

// What the end-to-end tests share: their PostgreSQL databases and the service processes.

const SERVICE_SCRIPT = fileURLToPath(new URL('./service.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** The URL of database `name` (namespaced by HERALD_TEST_NAMESPACE) on the test PostgreSQL server. */
export function databaseUrl(name: string): string {
  return postgresTestDatabaseUrl(name);
}

/** Creates the database if needed, applies Herald's migrations and the business table, and empties them. */
export async function prepareDatabase(name: string, table: string, ddl: string): Promise<PrismaClient> {
  const connect = (url: string) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  const { url } = await postgresTestDatabase(name, connect);
  const prisma = connect(url);
  await prismaEventLog(prisma, { provider: 'postgresql', logger: silentLogger }).migrate();
  await prisma.$executeRawUnsafe(ddl);
  await emptyTables(prisma, 'postgresql', ['herald_outbox', 'herald_inbox', table]);
  return prisma;
}

/** The two services' databases: orders on one side, charges on the other. */
export async function prepareOrderingAndBilling(
  prefix: string,
): Promise<{ orderingDb: PrismaClient; billingDb: PrismaClient }> {
  const orderingDb = await prepareDatabase(
    `${prefix}_ordering`,
    'rabbit_e2e_order',
    'CREATE TABLE IF NOT EXISTS rabbit_e2e_order (id TEXT PRIMARY KEY, total INTEGER NOT NULL)',
  );
  const billingDb = await prepareDatabase(
    `${prefix}_billing`,
    'rabbit_e2e_charge',
    `CREATE TABLE IF NOT EXISTS rabbit_e2e_charge (
       seq BIGSERIAL PRIMARY KEY, order_id TEXT NOT NULL, event_id TEXT NOT NULL, process TEXT NOT NULL)`,
  );
  return { orderingDb, billingDb };
}

/** Kills the service processes, closes the databases and removes this run's queues and exchange. */
export async function tearDown(
  running: readonly Service[],
  databases: ReadonlyArray<PrismaClient | undefined>,
  exchange: string,
): Promise<void> {
  for (const service of running) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
  for (const database of databases) await database?.$disconnect();
  const model = await connect(rabbitUrl);
  const channel = await model.createChannel();
  const queues = rabbitMqTransport({ url: rabbitUrl, exchange }).topology.queuesOf(BILLING_SERVICE);
  for (const queue of [queues.queue, queues.deadLetter, ...queues.retry.map((tier) => tier.queue)])
    await channel.deleteQueue(queue);
  await channel.deleteExchange(exchange);
  await model.close();
}

/** Where a service process runs. */
export interface ServiceSetup {
  readonly role: 'ordering' | 'billing';
  readonly database: string;
  readonly exchange: string;
  /** Names the process in the charge rows. */
  readonly name: string;
}

/** A service process and everything it reported. */
export class Service {
  readonly reports: Report[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(setup: ServiceSetup) {
    this.child = fork(SERVICE_SCRIPT, [], {
      cwd: PACKAGE_DIR,
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        ...serviceEnv({
          role: setup.role,
          databaseUrl: databaseUrl(setup.database),
          rabbitUrl,
          exchange: setup.exchange,
          process: setup.name,
        }),
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
