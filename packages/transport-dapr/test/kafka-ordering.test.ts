import { describeTransportConformance } from '@herald/testkit';
import { afterAll, beforeAll } from 'vitest';
import { componentsDir, deleteRunTopics, groupCycler, Sidecar, testTransport } from './helpers.js';

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
  await deleteRunTopics();
}, 60_000);

describeTransportConformance({
  name: 'dapr (pubsub.kafka, orderedByKey)',
  create: async () => testTransport(sidecar, 'kafka', { orderedByKey: true }),
  uniqueGroup: groupCycler(),
  timeoutMs: 30_000,
});
