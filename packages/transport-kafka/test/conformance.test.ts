import { describeTransportConformance } from '@herald/testkit';
import { beforeAll } from 'vitest';
import { requireBroker, restartBroker, testTransport } from './helpers.js';

beforeAll(requireBroker);

describeTransportConformance({
  name: 'kafka',
  create: async () => testTransport(),
  // Restarts the real broker with tooling/services/kafka.sh (needs root, like up.sh).
  restart: restartBroker,
  timeoutMs: 20_000,
});
