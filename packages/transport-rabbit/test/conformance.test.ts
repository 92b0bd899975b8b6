import { describeTransportConformance } from '@herald/testkit';
import { afterAll, beforeAll } from 'vitest';
import { canRestart, rabbitService, requireRabbit, TestBroker } from './helpers.js';

// Classic queues, defaults otherwise: orderedByKey is false, so the ordering case checks delivery only.
const classic = new TestBroker();
// Quorum queues with single-active-consumer: the ordering case checks per-key order too.
const ordered = new TestBroker();

beforeAll(requireRabbit);
afterAll(async () => {
  await classic.cleanup();
  await ordered.cleanup();
});

describeTransportConformance({
  name: 'rabbitmq (classic queues)',
  create: async () => classic.transport(),
  ...(canRestart ? { restart: () => rabbitService('restart') } : {}),
  timeoutMs: 20_000,
});

describeTransportConformance({
  name: 'rabbitmq (quorum queues, single active consumer)',
  create: async () => ordered.transport({ queueType: 'quorum', singleActiveConsumer: true }),
  timeoutMs: 20_000,
});
