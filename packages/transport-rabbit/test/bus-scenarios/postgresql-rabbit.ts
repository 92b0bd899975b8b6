/**
 * The bus scenario pair "Prisma PostgreSQL + RabbitMQ", as a module whose
 * default export child processes import (see `describeBusScenarios`). Each
 * suite run gets its own database and exchange, so runs never share state.
 */
import { randomUUID } from 'node:crypto';
import { type BusPair, SCENARIO_EFFECT_DDL } from '@herald/testkit/bus-pair';
import { PrismaPg } from '@prisma/adapter-pg';
import { connect } from 'amqplib';
import { rabbitMqTransport } from '../../src/index.js';
import { PrismaClient } from '../e2e/generated/client/client.js';
import { canRestart, rabbitService, rabbitUrl } from '../helpers.js';
import { publishForeign } from './foreign-publisher.js';
import { prismaScenarioStore } from './prisma-store.js';

const PG_URL = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';

function databaseUrl(database: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function client(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

const pair: BusPair = {
  name: 'Prisma PostgreSQL + RabbitMQ',
  features: { crashes: true, brokerRestart: canRestart, orderedByKey: true, transactionalInbox: true },

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
      await prismaScenarioStore(prisma, {
        provider: 'postgresql',
        placeholders: 'dollar',
      }).eventLog.migrate();
      await prisma.$executeRawUnsafe(SCENARIO_EFFECT_DDL);
    } finally {
      await prisma.$disconnect();
    }
    return { database, databaseUrl: url, exchange: `herald-scenarios-${runId}` };
  },

  async teardown(settings, services) {
    const model = await connect(rabbitUrl);
    try {
      const channel = await model.createChannel();
      const topology = rabbitMqTransport({ url: rabbitUrl, exchange: settings.exchange! }).topology;
      for (const service of services) {
        const queues = topology.queuesOf(service);
        for (const queue of [queues.queue, queues.deadLetter, ...queues.retry.map((tier) => tier.queue)])
          await channel.deleteQueue(queue);
      }
      await channel.deleteExchange(settings.exchange!);
    } finally {
      await model.close();
    }
    const admin = client(PG_URL);
    try {
      await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${settings.database}" WITH (FORCE)`);
    } finally {
      await admin.$disconnect();
    }
  },

  async createStore(settings) {
    const url = settings.databaseUrl!;
    return prismaScenarioStore(client(url), {
      provider: 'postgresql',
      placeholders: 'dollar',
      notify: { connectionString: url },
    });
  },

  async createTransport(settings, replica) {
    return rabbitMqTransport({
      url: rabbitUrl,
      exchange: settings.exchange!,
      connectionName: `${replica}-${randomUUID().slice(0, 8)}`,
      connectTimeoutMs: 20_000,
    });
  },

  async foreignPublish(settings, message) {
    await publishForeign(settings.exchange!, message);
  },

  ...(canRestart ? { restartBroker: () => rabbitService('restart') } : {}),
};

export default pair;
