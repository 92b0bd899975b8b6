// Removes what a workload created on the brokers, so runs do not pile up queues and topics.
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';

/** Deletes a Herald RabbitMQ topology: the exchange and, per group, the queue, its retry tiers and dead letters. */
export async function deleteRabbitTopology(
  url: string,
  exchange: string,
  groups: readonly string[],
): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    for (const group of groups) {
      const queue = `${exchange}.${group}`;
      for (const name of [
        queue,
        `${queue}.dead-letter`,
        ...['1s', '5s', '30s', '5m'].map((t) => `${queue}.retry.${t}`),
      ]) {
        // A channel closes on a failed delete; open one per queue.
        const channel = await connection.createChannel();
        await channel.deleteQueue(name).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    }
    const channel = await connection.createChannel();
    await channel.deleteExchange(exchange).catch(() => undefined);
    await channel.close().catch(() => undefined);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Deletes Kafka topics (missing ones are fine). */
export async function deleteKafkaTopics(brokers: string[], topics: readonly string[]): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'herald-bench-cleanup', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = topics.filter((t) => existing.has(t));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed, timeout: 15_000 });
  } finally {
    await admin.disconnect();
  }
}
