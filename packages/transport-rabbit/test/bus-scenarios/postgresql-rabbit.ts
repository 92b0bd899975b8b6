/**
 * The bus scenario pair "Prisma PostgreSQL + RabbitMQ", as a module whose
 * default export child processes import (see `describeBusScenarios`). Each
 * suite run gets its own database and exchange, so runs never share state.
 */

import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { prismaScenarioStore, SCENARIO_EFFECT_DDL } from '@herald/testkit/bus-pair';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../e2e/generated/client/client.js';
import { withRabbit } from './rabbit-pair.js';

const PG_URL = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';

function databaseUrl(database: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function client(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

export default withRabbit('Prisma PostgreSQL', {
  async setup(runId) {
    const database = `herald_scenarios_${runId}`;
    const admin = client(PG_URL);
    try {
      await admin.$executeRawUnsafe(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.$disconnect();
    }
    const url = databaseUrl(database);
    const prisma = client(url);
    try {
      await prismaScenarioStore(
        prisma,
        (on) => prismaEventLog(on, { logger: silentLogger, provider: 'postgresql' }),
        'dollar',
      ).eventLog.migrate();
      await prisma.$executeRawUnsafe(SCENARIO_EFFECT_DDL);
    } finally {
      await prisma.$disconnect();
    }
    return { database, databaseUrl: url };
  },

  async teardown(settings) {
    const admin = client(PG_URL);
    try {
      await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${settings.database}" WITH (FORCE)`);
    } finally {
      await admin.$disconnect();
    }
  },

  async createStore(settings) {
    const url = settings.databaseUrl!;
    return prismaScenarioStore(
      client(url),
      (on) =>
        prismaEventLog(on, {
          logger: silentLogger,
          provider: 'postgresql',
          notify: { connectionString: url },
        }),
      'dollar',
    );
  },
});
