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
import {
  composeBusPair,
  prismaPostgresStoreSide,
  type ScenarioTransportSide,
} from '@herald/testkit/bus-pair';
import { PrismaPg } from '@prisma/adapter-pg';
import { azureServiceBusTransport } from '../../src/index.js';
import { AmqpTestPeer, peerProvisioner } from '../helpers.js';
import { PrismaClient } from './generated/client/client.js';

let peer: AmqpTestPeer | undefined;

function runningPeer(): AmqpTestPeer {
  if (!peer) throw new Error('the Azure test peer runs only in the test process, after setup');
  return peer;
}

const azurePeer: ScenarioTransportSide = {
  name: 'Azure Service Bus (AMQP test peer)',
  features: { crashes: false, brokerRestart: true, orderedByKey: false },

  async setup(runId) {
    peer = await AmqpTestPeer.start();
    return { topic: `scenarios-${runId}` };
  },

  async teardown() {
    await peer?.stop();
    peer = undefined;
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

const postgresql = prismaPostgresStoreSide({
  connect: (url) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) }),
  eventLog: (on, url) =>
    prismaEventLog(on, { logger: silentLogger, provider: 'postgresql', notify: { connectionString: url } }),
});

export default composeBusPair(postgresql, azurePeer);
