import { describeTransportConformance } from '@herald/testkit';
import { afterAll, beforeAll } from 'vitest';
import { deleteRunTopics, requireBroker, restartBroker, testTransport } from './helpers.js';

beforeAll(requireBroker);
afterAll(deleteRunTopics);

describeTransportConformance({
  name: 'kafka',
  create: async () => testTransport(),
  // Restarts the real broker with tooling/services/kafka.sh (needs root, like up.sh).
  restart: restartBroker,
  timeoutMs: 20_000,
});
