import { describeTransportConformance } from '@herald/testkit';
import { afterAll, beforeAll } from 'vitest';
import { azureServiceBusTransport } from '../src/index.js';
import { AmqpTestPeer, peerProvisioner } from './helpers.js';

// The real @azure/service-bus SDK against the AMQP test peer in test/helpers (see README:
// what the peer models and what it does not). Topology comes from the peer provisioner.
let peer: AmqpTestPeer;
beforeAll(async () => {
  peer = await AmqpTestPeer.start();
});
afterAll(async () => {
  await peer?.stop();
});

const fastRetries = { maxRetries: 5, retryDelayInMs: 100, maxRetryDelayInMs: 500, timeoutInMs: 5_000 };

describeTransportConformance({
  name: 'azure-service-bus (SDK → AMQP test peer)',
  create: async () =>
    azureServiceBusTransport({
      connectionString: peer.connectionString,
      provisioner: peerProvisioner(peer),
      retryOptions: fastRetries,
    }),
  restart: () => peer.restart(),
});

describeTransportConformance({
  name: 'azure-service-bus with sessions (SDK → AMQP test peer)',
  create: async () =>
    azureServiceBusTransport({
      connectionString: peer.connectionString,
      provisioner: peerProvisioner(peer),
      sessions: true,
      sessionIdleTimeoutMs: 200,
      sessionRetryDelayMs: 100,
      retryOptions: fastRetries,
    }),
  restart: () => peer.restart(),
});
