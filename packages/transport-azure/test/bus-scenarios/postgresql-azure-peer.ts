/**
 * The bus scenario pair "Prisma PostgreSQL + Azure Service Bus (AMQP test peer)".
 * The peer is the in-memory AMQP broker of this package's tests: it lives in the
 * test process and topics are provisioned through its object, so child
 * processes cannot use it and the crash scenarios are skipped (`crashes: false`).
 * Everything else goes through the real SDK over AMQP; the broker restart is the
 * peer's `restart()` (connections dropped, entities and messages kept).
 */

import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { type BusPair, prismaScenarioStore, SCENARIO_EFFECT_DDL } from '@herald/testkit/bus-pair';
import { PrismaPg } from '@prisma/adapter-pg';
import { azureServiceBusTransport } from '../../src/index.js';
import { AmqpTestPeer, peerProvisioner } from '../helpers.js';
import { PrismaClient } from './generated/client/client.js';

const PG_URL = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';

function databaseUrl(database: string): string {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

function client(url: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
}

let peer: AmqpTestPeer | undefined;

function runningPeer(): AmqpTestPeer {
  if (!peer) throw new Error('the Azure test peer runs only in the test process, after setup');
  return peer;
}

const pair: BusPair = {
  name: 'Prisma PostgreSQL + Azure Service Bus (AMQP test peer)',
  features: {
    crashes: false,
    brokerRestart: true,
    orderedByKey: false,
    transactionalOutbox: true,
    transactionalInbox: true,
  },

  async setup(runId) {
    peer = await AmqpTestPeer.start();
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
    return { database, databaseUrl: url, topic: `scenarios-${runId}` };
  },

  async teardown(settings) {
    await peer?.stop();
    peer = undefined;
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

  async createTransport(settings) {
    const running = runningPeer();
    return azureServiceBusTransport({
      connectionString: running.connectionString,
      provisioner: peerProvisioner(running),
      topic: settings.topic!,
      retryOptions: { maxRetries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 500, timeoutInMs: 5_000 },
    });
  },

  async restartBroker() {
    await runningPeer().restart();
  },
};

export default pair;
