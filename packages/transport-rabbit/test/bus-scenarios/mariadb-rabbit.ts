/**
 * The bus scenario pair "Prisma MariaDB + RabbitMQ", as a module whose
 * default export child processes import. One database per suite run. MariaDB
 * has no LISTEN/NOTIFY: relays of other processes find records by polling.
 */

import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { prismaScenarioStore, SCENARIO_EFFECT_DDL } from '@herald/testkit/bus-pair';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaClient } from './generated/mysql/client/client.js';
import { withRabbit } from './rabbit-pair.js';

// The adapter speaks `mariadb:`; the services script prints a `mysql:` URL.
const MARIADB_URL = (process.env.HERALD_MARIADB_URL ?? 'mysql://herald:herald@127.0.0.1:3306/herald').replace(
  /^mysql:/,
  'mariadb:',
);

function databaseUrl(database: string): string {
  const url = new URL(MARIADB_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function client(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaMariaDb(url) });
}

export default withRabbit('Prisma MariaDB', {
  async setup(runId) {
    const database = `herald_scenarios_${runId}`;
    const admin = client(MARIADB_URL);
    try {
      await admin.$executeRawUnsafe(`CREATE DATABASE \`${database}\``);
    } finally {
      await admin.$disconnect();
    }
    const url = databaseUrl(database);
    const prisma = client(url);
    try {
      await prismaScenarioStore(
        prisma,
        (on) => prismaEventLog(on, { logger: silentLogger, provider: 'mysql' }),
        'question',
      ).eventLog.migrate();
      await prisma.$executeRawUnsafe(SCENARIO_EFFECT_DDL);
    } finally {
      await prisma.$disconnect();
    }
    return { database, databaseUrl: url };
  },

  async teardown(settings) {
    const admin = client(MARIADB_URL);
    try {
      await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS \`${settings.database}\``);
    } finally {
      await admin.$disconnect();
    }
  },

  async createStore(settings) {
    return prismaScenarioStore(
      client(settings.databaseUrl!),
      (on) => prismaEventLog(on, { logger: silentLogger, provider: 'mysql' }),
      'question',
    );
  },
});
