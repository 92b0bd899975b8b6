import { ServiceBusAdministrationClient } from '@azure/service-bus';
import { brokerNames, type DemoConfig, RABBITMQ_RETRY_DELAYS, SERVICES } from '@herald/demo-kit';
import { kafkaTransport } from '@herald/transport-kafka';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';

/**
 * Deletes what this run created on the broker (its exchange and queues, its topics and
 * consumer groups, or its Service Bus topic), so repeated runs leave nothing behind. Skipped
 * with --keep.
 */
export async function deleteBrokerObjects(config: DemoConfig): Promise<void> {
  const names = brokerNames(config);
  if (config.transport === 'rabbitmq') {
    const connection = await amqp.connect(config.urls.rabbitmq);
    try {
      const channel = await connection.createChannel();
      for (const service of SERVICES) {
        const queue = `${names.exchange}.${service}`;
        for (const delay of RABBITMQ_RETRY_DELAYS)
          await channel.deleteQueue(`${queue}.retry.${delay / 1000}s`);
        await channel.deleteQueue(`${queue}.dead-letter`);
        await channel.deleteQueue(queue);
      }
      await channel.deleteExchange(names.exchange);
    } finally {
      await connection.close();
    }
  } else if (config.transport === 'azure') {
    const admin = new ServiceBusAdministrationClient(config.urls.azure!);
    await admin.deleteTopic(names.azureTopic); // with its subscriptions
  } else if (config.transport === 'kafka') {
    // Creating a Kafka transport applies its fix of kafkajs' idle timer loop to the kafkajs copy
    // this module shares (without it Node 24 prints TimeoutNegativeWarning); it connects nothing.
    kafkaTransport({ brokers: [...config.urls.kafka] });
    const admin = new Kafka({ brokers: [...config.urls.kafka], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(names.topicPrefix));
      await admin
        .deleteGroups(SERVICES.map((service) => `${names.topicPrefix}${service}`))
        .catch(() => undefined);
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  }
}
