import { randomUUID } from 'node:crypto';
import { silentLogger, WireHeaders } from '@herald/core';
import type { Consumer, ConsumerRunConfig, EachBatchPayload, Kafka } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KafkaSubscription } from '../src/consumer.js';
import { resolveOptions } from '../src/options.js';
import { TopicManager } from '../src/topology.js';
import { deleteRunTopics, rawKafka, requireBroker, runId, testOptions, waitFor } from './helpers.js';

// kafkajs stops a consumer for good after a crash it deems non-retriable (any error its batch
// callback throws that is not a KafkaJS retriable one, some coordinator answers). A member that
// stops so leaves its partitions unread while the service looks alive: the subscription starts
// a new member instead. The fault is injected into kafkajs' own batch callback on a real broker.

beforeAll(requireBroker);
afterAll(deleteRunTopics);

/** A kafkajs client whose consumers throw a non-retriable error from their first batch callback. */
function crashingOnce(kafka: Kafka): { kafka: Kafka; crashes: () => number } {
  let crashes = 0;
  const wrapped = Object.create(kafka) as Kafka;
  wrapped.consumer = (config) => {
    const consumer: Consumer = kafka.consumer(config);
    const run = consumer.run.bind(consumer);
    consumer.run = (runConfig?: ConsumerRunConfig) =>
      run({
        ...runConfig,
        eachBatch: async (payload: EachBatchPayload) => {
          if (crashes === 0) {
            crashes++;
            throw new TypeError('injected: a bug in the batch callback');
          }
          await runConfig!.eachBatch!(payload);
        },
      });
    return consumer;
  };
  return { kafka: wrapped, crashes: () => crashes };
}

it('starts a new group member when kafkajs gives up on its consumer after a non-retriable crash, and loses no record', async () => {
  const options = resolveOptions(testOptions({}));
  const client = crashingOnce(rawKafka());
  const admin = rawKafka().admin();
  await admin.connect();
  const logged: string[] = [];
  const logger = { ...silentLogger, error: (message: string) => void logged.push(message) };
  const name = `revive-${runId}`;
  const topic = options.topicFor(name);
  const handled = new Set<string>();
  const member = await KafkaSubscription.open(
    { group: `g-${runId}-revive`, eventNames: [name] },
    async (message) => {
      handled.add(message.headers[WireHeaders.id]!);
      return { kind: 'ack' };
    },
    {
      kafka: client.kafka,
      options,
      topics: new TopicManager(admin, options),
      logger,
      deadLetter: async () => undefined,
    },
  );
  try {
    const producer = rawKafka().producer();
    await producer.connect();
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await producer.send({
      topic,
      messages: ids.map((id) => ({
        value: '{}',
        headers: { [WireHeaders.id]: id, [WireHeaders.name]: name },
      })),
    });
    await producer.disconnect();
    await waitFor(
      () => ids.every((id) => handled.has(id)),
      45_000,
      () => `${ids.filter((id) => !handled.has(id)).length} of 20 records never handled after the crash`,
    );
    expect(client.crashes()).toBe(1);
    expect(logged).toContain(
      'Kafka consumer stopped after a crash kafkajs does not restart from; starting a new member',
    );
  } finally {
    await member.close();
    await admin.disconnect();
  }
}, 90_000);
