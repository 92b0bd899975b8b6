import { deleteKafkaTopics } from '../brokers.ts';
import { rate, type Workload } from '../workload.ts';

/** kafkajs alone: batched produce (acks = all) + consumer group, the Kafka ceiling. */
export const rawKafka: Workload = {
  id: 'raw-kafka',
  title: 'kafkajs: batched produce (1000/batch, acks all, 3 in flight) + consumer group, 3 partitions, 1 KB',
  services: ['kafka'],
  timeoutMs: (quick) => (quick ? 90_000 : 240_000),
  async run(ctx) {
    const count = ctx.drainCount;
    const topic = `bench.${ctx.runId}.raw`;
    try {
      const consumer = ctx.workers.spawn('raw-kafka-con', 'raw-kafka-con', {
        brokers: ctx.engines.kafkaBrokers,
        topic,
        group: `bench-raw-${ctx.runId}`,
        count,
        partitions: 3,
      });
      await consumer.next('ready', 60_000);
      const producer = ctx.workers.spawn('raw-kafka-pub', 'raw-kafka-pub', {
        brokers: ctx.engines.kafkaBrokers,
        topic,
        count,
        batch: 1000,
        inFlight: 3,
      });
      await producer.next('ready', 30_000);
      producer.send({ type: 'go' });
      const produced = await producer.next('done', this.timeoutMs(ctx.quick));
      const consumed = await consumer.next('done', this.timeoutMs(ctx.quick));
      const elapsed = consumed.last - produced.start;
      return {
        eventsPerSec: rate(consumed.received, elapsed),
        producePerSec: rate(count, produced.end - produced.start),
        events: consumed.received,
        seconds: Math.round(elapsed) / 1000,
        notes: [
          `${count} messages; producer and consumer in separate processes; eachMessage, partitionsConsumedConcurrently 3`,
        ],
      };
    } finally {
      await deleteKafkaTopics(ctx.engines.kafkaBrokers, [topic]).catch(() => undefined);
    }
  },
};
