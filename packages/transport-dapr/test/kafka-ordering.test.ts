import { describeTransportConformance } from '@herald/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { componentsDir, groupCycler, kafkaBrokers, runId, Sidecar, testTransport } from './helpers.js';

// pubsub.kafka (the shared Kafka of tooling/services) with orderedByKey declared: checks whether
// Dapr's Kafka component keeps per-key order (ordering key → partitionKey → record key).
let components: ReturnType<typeof componentsDir>;
let sidecar: Sidecar;

beforeAll(async () => {
  components = componentsDir({ kafka: true });
  sidecar = new Sidecar(components.dir);
  await sidecar.start();
}, 120_000);

afterAll(async () => {
  await sidecar?.stop();
  components?.cleanup();
  // The topics Dapr created for this run (event and dead-letter topics), so the shared broker does not pile them up.
  const admin = new Kafka({ brokers: kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(`herald-test-${runId}.`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 15_000 });
  } finally {
    await admin.disconnect();
  }
}, 60_000);

describeTransportConformance({
  name: 'dapr (pubsub.kafka, orderedByKey)',
  create: async () => testTransport(sidecar, 'kafka', { orderedByKey: true }),
  uniqueGroup: groupCycler(),
  timeoutMs: 30_000,
});
