/**
 * The bus scenario pair "Prisma SQLite + RabbitMQ", as a module whose default
 * export child processes import. One database file per suite run, shared by
 * every process of the run (libSQL with a busy timeout); relays find records by
 * polling. As @herald/outbox-prisma's README asks, a process writes through one
 * client (replicas of one process share it, in WAL mode) and lists through a
 * second (`readClient`).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { prismaScenarioStore, SCENARIO_EFFECT_DDL } from '@herald/testkit/bus-pair';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaClient } from './generated/sqlite/client/client.js';
import { withRabbit } from './rabbit-pair.js';

function client(file: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${file}`, timeout: 10_000 }) });
}

/** This process's writing and reading clients of each file, with how many stores use them. */
const shared = new Map<string, { writer: PrismaClient; reader: PrismaClient; users: number }>();

function clientsOf(file: string) {
  let entry = shared.get(file);
  if (!entry) {
    entry = { writer: client(file), reader: client(file), users: 0 };
    shared.set(file, entry);
  }
  entry.users++;
  return entry;
}

export default withRabbit('Prisma SQLite', {
  async setup(runId) {
    const file = join(tmpdir(), `herald-scenarios-${runId}`, 'scenarios.db');
    mkdirSync(dirname(file), { recursive: true });
    const prisma = client(file);
    try {
      await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
      await prismaScenarioStore(
        prisma,
        (on) => prismaEventLog(on, { logger: silentLogger, provider: 'sqlite' }),
        'question',
      ).eventLog.migrate();
      await prisma.$executeRawUnsafe(SCENARIO_EFFECT_DDL);
    } finally {
      await prisma.$disconnect();
    }
    return { file };
  },

  async teardown(settings) {
    rmSync(dirname(settings.file!), { recursive: true, force: true });
  },

  async createStore(settings) {
    const file = settings.file!;
    const clients = clientsOf(file);
    const store = prismaScenarioStore(
      clients.writer,
      (on) => prismaEventLog(on, { logger: silentLogger, provider: 'sqlite', readClient: clients.reader }),
      'question',
    );
    return {
      ...store,
      async close() {
        await store.eventLog.outbox.close?.().catch(() => undefined);
        if (--clients.users > 0) return;
        shared.delete(file);
        await clients.writer.$disconnect();
        await clients.reader.$disconnect();
      },
    };
  },
});
