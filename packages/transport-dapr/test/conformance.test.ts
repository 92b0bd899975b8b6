import { describeTransportConformance } from '@herald/testkit';
import { afterAll, beforeAll } from 'vitest';
import { componentsDir, groupCycler, runId, Sidecar, TestRedis, testTransport } from './helpers.js';

// Redis Streams through one sidecar, on a private Redis with an append-only file (restartable
// without touching the shared one); RabbitMQ (durable queues) through the same sidecar.
const redis = new TestRedis();
let components: ReturnType<typeof componentsDir>;
let sidecar: Sidecar;
let sharedTopics = 0;

beforeAll(async () => {
  await redis.start();
  components = componentsDir({ redisPort: redis.port, rabbit: true });
  sidecar = new Sidecar(components.dir);
  await sidecar.start();
}, 120_000);

afterAll(async () => {
  await sidecar?.stop();
  await redis.stop();
  components?.cleanup();
});

describeTransportConformance({
  name: 'dapr (pubsub.redis, Redis Streams)',
  create: async () => testTransport(sidecar, 'redis'),
  // Every event name on one topic: each group also sees names it did not ask for.
  createShared: async () => {
    const topic = `herald-test-${runId}.shared-${++sharedTopics}`;
    return testTransport(sidecar, 'redis', { topicFor: () => topic });
  },
  // Restarts the Redis behind the sidecar; the sidecar and the transport reconnect.
  restart: () => redis.restart(),
  uniqueGroup: groupCycler(),
  timeoutMs: 20_000,
});

describeTransportConformance({
  name: 'dapr (pubsub.rabbitmq, durable queues)',
  create: async () => testTransport(sidecar, 'rabbit'),
  uniqueGroup: groupCycler(),
  timeoutMs: 20_000,
});
