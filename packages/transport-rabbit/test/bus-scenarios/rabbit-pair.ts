import { randomUUID } from 'node:crypto';
import type { ScenarioTransportSide } from '@herald/testkit/bus-pair';
import { connect } from 'amqplib';
import { rabbitMqTransport } from '../../src/index.js';
import { canRestart, rabbitService, rabbitUrl } from '../helpers.js';
import { publishForeign } from './foreign-publisher.js';

/**
 * The RabbitMQ side of a bus-scenario pair (`composeBusPair(store, rabbitSide)`):
 * one exchange per run, native amqplib foreign publishes, broker restarts
 * through the repository's service script (bounded) when it exists.
 */
export const rabbitSide: ScenarioTransportSide = {
  name: 'RabbitMQ',
  features: { crashes: true, brokerRestart: canRestart, orderedByKey: true },

  async setup(runId) {
    return { exchange: `herald-scenarios-${runId}` };
  },

  async teardown(settings, services) {
    const model = await connect(rabbitUrl);
    try {
      const channel = await model.createChannel();
      const topology = rabbitMqTransport({ url: rabbitUrl, exchange: settings.exchange! }).topology;
      for (const service of services) {
        const queues = topology.queuesOf(service);
        for (const queue of [queues.queue, queues.deadLetter, ...queues.retry.map((tier) => tier.queue)])
          await channel.deleteQueue(queue);
      }
      await channel.deleteExchange(settings.exchange!);
    } finally {
      await model.close();
    }
  },

  async createTransport(settings, replica) {
    return rabbitMqTransport({
      url: rabbitUrl,
      exchange: settings.exchange!,
      connectionName: `${replica}-${randomUUID().slice(0, 8)}`,
      connectTimeoutMs: 20_000,
    });
  },

  async foreignPublish(settings, message) {
    await publishForeign(settings.exchange!, message);
  },

  ...(canRestart ? { restartBroker: () => rabbitService('restart') } : {}),
};
