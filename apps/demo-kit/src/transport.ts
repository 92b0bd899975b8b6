// The one place where `--transport` becomes a transport. Each transport package is loaded
// only when chosen (dynamic import): a service deployed on RabbitMQ does not need kafkajs or
// @azure/service-bus installed. The service apps list the transport packages as optional
// dependencies; this package names them as optional peers, so the import finds the copy the
// service installed. A new transport is one more case here and in TRANSPORTS.
import { type InProcessBroker, InProcessTransport, type Logger, type Transport } from '@herald/core';
import type { DemoConfig } from './config.js';
import { OrderPlaced, ProductEvents, type ServiceName, SmsRequested } from './contracts.js';
import { DAPR_PUBSUB, sidecarPortOf } from './dapr.js';

/** Events each service publishes (Kafka creates their topics at start). */
const PUBLISHES: Record<ServiceName, string[]> = {
  catalog: [
    ProductEvents.Created.eventName,
    ProductEvents.Updated.eventName,
    ProductEvents.Deleted.eventName,
  ],
  ordering: [OrderPlaced.eventName, SmsRequested.eventName],
  notification: [],
};

/** Broker object names of this run (the demo's cleanup deletes them). */
export function brokerNames(config: DemoConfig) {
  const base = `herald-${config.namespace}-${config.run}`;
  return { exchange: base, topicPrefix: `${base}.`, azureTopic: base };
}

/** Delay tiers of the RabbitMQ retry queues (the demo's cleanup deletes them by name). */
export const RABBITMQ_RETRY_DELAYS = [1_000, 5_000];

/**
 * Kafka consumer groups are named after Herald's groups (`ordering`), and the Kafka transport
 * has no option to prefix them; runs sharing a broker must not share groups, so the demo
 * prefixes the group of every subscription with the run's name.
 */
function runScopedGroups(prefix: string, transport: Transport): Transport {
  const scoped = (group: string) => `${prefix}${group}`;
  return {
    name: transport.name,
    capabilities: transport.capabilities,
    start: () => transport.start(),
    publish: (messages) => transport.publish(messages),
    subscribe: (subscription, handler) =>
      transport.subscribe({ ...subscription, group: scoped(subscription.group) }, handler),
    ...(transport.readDeadLetters
      ? {
          readDeadLetters: (group: string, limit: number) => transport.readDeadLetters!(scoped(group), limit),
        }
      : {}),
    ...(transport.health ? { health: () => transport.health!() } : {}),
    // Contracts name the groups as the broker sees them.
    ...(transport.naming
      ? {
          naming: {
            ...transport.naming,
            consumer: (group: string) => transport.naming!.consumer(scoped(group)),
          },
        }
      : {}),
    stop: () => transport.stop(),
  };
}

/** Imports a transport package the service installed, or says which one to install. */
async function load<T>(name: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(name))
      throw new Error(`--transport needs ${name}: install it next to the service (npm install ${name})`);
    throw error;
  }
}

/** The transport a service uses, per `--transport`. */
export async function createTransport(
  config: DemoConfig,
  service: ServiceName,
  logger: Logger,
  broker?: InProcessBroker,
): Promise<Transport> {
  const names = brokerNames(config);
  switch (config.transport) {
    case 'inprocess':
      return new InProcessTransport(broker ? { broker } : {});
    case 'rabbitmq': {
      const { rabbitMqTransport } = await load(
        '@herald/transport-rabbit',
        () => import('@herald/transport-rabbit'),
      );
      return rabbitMqTransport({
        url: config.urls.rabbitmq,
        exchange: names.exchange, // queues: <exchange>.<service>, with retry and dead-letter queues
        retryDelays: RABBITMQ_RETRY_DELAYS,
        connectionName: `${names.exchange}:${service}`,
        connectTimeoutMs: 10_000,
        logger,
      });
    }
    case 'kafka': {
      const { kafkaTransport } = await load(
        '@herald/transport-kafka',
        () => import('@herald/transport-kafka'),
      );
      return runScopedGroups(
        names.topicPrefix,
        kafkaTransport({
          brokers: [...config.urls.kafka],
          clientId: `${names.exchange}-${service}`,
          topicPrefix: names.topicPrefix,
          topics: { numPartitions: 3, declare: PUBLISHES[service] },
          // A killed member is noticed after sessionTimeout; keep the demo's restart short.
          consumer: { sessionTimeout: 10_000, heartbeatInterval: 1_000, rebalanceTimeout: 15_000 },
          logger,
        }),
      );
    }
    case 'dapr': {
      const { daprTransport } = await load('@herald/transport-dapr', () => import('@herald/transport-dapr'));
      // The service's own sidecar (started by the driver); its app id is the consumer group.
      return daprTransport({
        pubsubName: DAPR_PUBSUB,
        daprGrpcPort: sidecarPortOf(service),
        topicPrefix: names.topicPrefix,
        startTimeoutMs: 30_000,
        logger,
      });
    }
    case 'azure': {
      const { azureServiceBusTransport } = await load(
        '@herald/transport-azure',
        () => import('@herald/transport-azure'),
      );
      return azureServiceBusTransport({
        connectionString: config.urls.azure!,
        topic: names.azureTopic,
        // Creates the run's topic and subscriptions (needs Manage rights); 0 when they exist.
        autoCreate: process.env.HERALD_DEMO_AZURE_AUTOCREATE !== '0',
        logger,
      });
    }
  }
}
