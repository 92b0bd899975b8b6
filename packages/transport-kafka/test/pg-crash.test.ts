import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { testWireMessage } from '@herald/testkit';
import { emptyTables, postgresTestDatabase, postgresTestDatabaseUrl } from '@herald/testkit/engines';
import { PrismaPg } from '@prisma/adapter-pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteRunTopics, requireBroker, runId, testTransport, waitFor } from './helpers.js';
import { PrismaClient } from './pg/generated/client/client.js';

// Kafka → PostgreSQL inbox (@herald/outbox-prisma) → handler writing through ctx.tx, with the
// consumer SIGKILLed between inbox commits and offset commits: Kafka redelivers, the inbox absorbs.

const DATABASE = 'herald_kafka_crash';
const BILLING_SCRIPT = fileURLToPath(new URL('./pg/billing.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const EVENTS = 500;

function databaseUrl(): string {
  return postgresTestDatabaseUrl(DATABASE);
}

let db: PrismaClient;
beforeAll(requireBroker);
beforeAll(async () => {
  const connect = (url: string) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  const { url } = await postgresTestDatabase(DATABASE, connect);
  db = connect(url);
  await prismaEventLog(db, { provider: 'postgresql', logger: silentLogger }).migrate();
  await db.$executeRawUnsafe(
    `CREATE TABLE IF NOT EXISTS kafka_crash_effect (
       seq BIGSERIAL PRIMARY KEY, message_id TEXT NOT NULL, process TEXT NOT NULL)`,
  );
  await emptyTables(db, 'postgresql', ['herald_outbox', 'herald_inbox', 'kafka_crash_effect']);
}, 60_000);
afterAll(async () => {
  await db?.$disconnect();
});
afterAll(deleteRunTopics);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

interface Billing {
  readonly child: ChildProcess;
  readonly duplicates: string[];
  readonly exited: Promise<void>;
}

/** Starts a billing process; resolves once its bus has started. */
async function billing(env: Record<string, string>): Promise<Billing> {
  const child = fork(BILLING_SCRIPT, [], {
    cwd: PACKAGE_DIR,
    execArgv: ['--import', 'tsx', '--disable-warning=TimeoutNegativeWarning'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const duplicates: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: { type: string; messageId?: string }) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'duplicate') duplicates.push(message.messageId!);
    });
    child.once('exit', (code) =>
      reject(new Error(`the billing process exited with ${code} before starting`)),
    );
  });
  return { child, duplicates, exited };
}

async function effects(): Promise<Array<{ message_id: string; n: bigint }>> {
  return db.$queryRawUnsafe('SELECT message_id, count(*) AS n FROM kafka_crash_effect GROUP BY message_id');
}

describe('crash between the inbox commit and the offset commit (PostgreSQL + Kafka)', () => {
  it('SIGKILL mid-stream: redelivered records are absorbed by the inbox; every effect exactly once', async () => {
    const topicPrefix = `herald-test-${runId}.`;
    const event = `kafka-pg-crash.${runId}`;
    const env = {
      CRASH_DATABASE_URL: databaseUrl(),
      CRASH_TOPIC_PREFIX: topicPrefix,
      CRASH_SERVICE: `kafka-crash-billing-${runId}`,
      CRASH_EVENT: event,
    };
    const publisher = testTransport({ topicPrefix, topics: { numPartitions: 3 } });
    await publisher.start();
    try {
      const first = await billing({ ...env, CRASH_PROCESS: 'billing-1', CRASH_AFTER_ACKS: '150' });
      const sent = Array.from({ length: EVENTS }, (_, index) =>
        testWireMessage({ name: event, orderingKey: `customer-${index % 25}`, payload: { index } }),
      );
      for (let start = 0; start < EVENTS; start += 50) {
        const outcomes = await publisher.publish(sent.slice(start, start + 50));
        expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
      }
      // billing-1 kills itself after core decided its 150th ack.
      await first.exited;
      expect(first.child.signalCode).toBe('SIGKILL');

      const second = await billing({ ...env, CRASH_PROCESS: 'billing-2' });
      await waitFor(
        async () => (await effects()).length >= EVENTS,
        30_000,
        () => 'not every event had its effect',
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // a late duplicate would show now

      const rows = await effects();
      expect(rows.map((row) => row.message_id).sort()).toEqual(sent.map((message) => message.id).sort());
      expect(
        rows.filter((row) => Number(row.n) !== 1),
        'effects applied more than once',
      ).toEqual([]);
      // At least the record whose offset died with billing-1 came again and was recognised.
      expect(second.duplicates.length).toBeGreaterThanOrEqual(1);
      const inbox = await db.$queryRawUnsafe<Array<{ status: string; count: bigint }>>(
        'SELECT status, count(*) AS count FROM herald_inbox GROUP BY status',
      );
      expect(inbox.map((row) => ({ status: row.status, count: Number(row.count) }))).toEqual([
        { status: 'processed', count: EVENTS },
      ]);
      second.child.send({ type: 'stop' });
      await second.exited;
      expect(second.child.exitCode).toBe(0);
    } finally {
      await publisher.stop();
    }
  }, 60_000);
});
