import { randomUUID } from 'node:crypto';
import type { BusPair, ScenarioStore } from '@herald/testkit/bus-pair';
import { connect } from 'amqplib';
import { rabbitMqTransport } from '../../src/index.js';
import { canRestart, rabbitService, rabbitUrl } from '../helpers.js';
import { publishForeign } from './foreign-publisher.js';

/** The database half of a pair: what differs between PostgreSQL, MariaDB and SQLite. */
export interface StoreSide {
  /** Creates the run's database (migrated, with the effect table); returns its settings. */
  setup(runId: string): Promise<Record<string, string>>;
  /** Drops the run's database. */
  teardown(settings: Record<string, string>): Promise<void>;
  createStore(settings: Record<string, string>): Promise<ScenarioStore>;
}

/**
 * A bus-scenario pair of `store` with RabbitMQ: one exchange per run,
 * native amqplib foreign publishes, broker restarts through the repository's
 * service script (bounded) when it exists.
 */
export function withRabbit(name: string, store: StoreSide): BusPair {
  return {
    name: `${name} + RabbitMQ`,
    features: {
      crashes: true,
      brokerRestart: canRestart,
      orderedByKey: true,
      transactionalOutbox: true,
      transactionalInbox: true,
    },

    async setup(runId) {
      return { ...(await store.setup(runId)), exchange: `herald-scenarios-${runId}` };
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
      await store.teardown(settings);
    },

    createStore: (settings) => store.createStore(settings),

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
}
