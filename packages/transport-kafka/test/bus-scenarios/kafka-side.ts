import { randomUUID } from 'node:crypto';
import type { ScenarioTransportSide } from '@herald/testkit/bus-pair';
import { deleteTopicsStartingWith } from '@herald/testkit/engines';
import { defaultTopicFor, kafkaTransport } from '../../src/index.js';
import { rawKafka, testOptions } from '../helpers.js';

/**
 * The Kafka side of a bus-scenario pair (`composeBusPair(store, kafkaSide)`):
 * one topic prefix per run (its topics deleted after the suite), plain
 * kafkajs foreign publishes.
 */
export const kafkaSide: ScenarioTransportSide = {
  name: 'Kafka',
  // A Kafka restart (tooling/services/kafka.sh restart, ~20 s) runs once per transport: the
  // PostgreSQL pair turns it on; the others report the scenario as skipped.
  features: { crashes: true, brokerRestart: false, orderedByKey: true },

  async setup(runId) {
    return { topicPrefix: `herald-scenarios-${runId}.` };
  },

  async teardown(settings) {
    await deleteTopicsStartingWith(rawKafka().admin(), settings.topicPrefix!);
  },

  async createTransport(settings, replica) {
    return kafkaTransport(
      testOptions({ clientId: `${replica}-${randomUUID().slice(0, 8)}`, topicPrefix: settings.topicPrefix! }),
    );
  },

  async foreignPublish(settings, message) {
    // A plain kafkajs producer: the record carries only the given headers.
    const producer = rawKafka().producer();
    await producer.connect();
    try {
      const topic = defaultTopicFor(`${settings.topicPrefix}${message.routeAs}`);
      await producer.send({
        topic,
        messages: [{ value: Buffer.from(message.body), headers: message.headers }],
      });
    } finally {
      await producer.disconnect();
    }
  },
};
