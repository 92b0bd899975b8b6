import { describeTransportConformance } from '@herald/testkit';
import { afterAll, beforeAll } from 'vitest';
import { kafkaTopicName } from '../src/index.js';
import { deleteRunTopics, requireBroker, restartBroker, runId, testTransport } from './helpers.js';

beforeAll(requireBroker);
afterAll(deleteRunTopics);

let sharedTopics = 0;

describeTransportConformance({
  name: 'kafka',
  create: async () => testTransport(),
  // Every event name of this transport on one topic of its own: each group also sees names it did not ask for.
  createShared: async () => {
    const topic = kafkaTopicName(`herald-test-${runId}.shared-${++sharedTopics}`);
    return testTransport({ topicFor: () => topic });
  },
  // Restarts the real broker with tooling/services/kafka.sh (needs root, like up.sh).
  restart: restartBroker,
  timeoutMs: 20_000,
});
