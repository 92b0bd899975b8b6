/**
 * The bus scenario pair "Prisma PostgreSQL + Kafka", as a module whose
 * default export child processes import (see `describeBusScenarios`). Each
 * suite run gets its own database and topic prefix, so runs never share state.
 */
import { randomUUID } from 'node:crypto';
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { type BusPair, prismaScenarioStore, SCENARIO_EFFECT_DDL } from '@herald/testkit/bus-pair';
import { PrismaPg } from '@prisma/adapter-pg';
import { defaultTopicFor, kafkaTransport } from '../../src/index.js';
import { rawKafka, testOptions } from '../helpers.js';
import { PrismaClient } from '../pg/generated/client/client.js';

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
  name: 'Prisma PostgreSQL + Kafka',
  // A Kafka restart through tooling/services/kafka.sh takes minutes: too long for this bounded suite.
  features: {
    crashes: true,
    brokerRestart: false,
    orderedByKey: true,
    transactionalOutbox: true,
    transactionalInbox: true,
  },

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
    return { database, databaseUrl: url, topicPrefix: `herald-scenarios-${runId}.` };
  },

  async teardown(settings) {
    const admin = rawKafka().admin();
    await admin.connect();
    try {
      const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(settings.topicPrefix!));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 15_000 });
    } finally {
      await admin.disconnect();
    }
    const pg = client(PG_URL);
    try {
      await pg.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${settings.database}" WITH (FORCE)`);
    } finally {
      await pg.$disconnect();
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

  async createTransport(settings, replica) {
    return kafkaTransport(
      testOptions({ clientId: `${replica}-${randomUUID().slice(0, 8)}`, topicPrefix: settings.topicPrefix! }),
    );
  },

  async foreignPublish(settings, message) {
    // A plain kafkajs producer: the record carries only the given headers.
    const producer = rawKafka().producer();
    await producer.connect();
    try {
      const topic = defaultTopicFor(`${settings.topicPrefix}${message.routeAs}`);
      await producer.send({
        topic,
        messages: [{ value: Buffer.from(message.body), headers: message.headers }],
      });
    } finally {
      await producer.disconnect();
    }
  },
};

export default pair;
