import { deleteKafkaTopics } from '../brokers.ts';
import { rate, type Workload, type WorkloadContext, type WorkloadResult } from '../workload.ts';

/**
 * kafkajs alone: batched produce (acks = all) + consumer group, the Kafka ceiling. Then the variant
 * `herald-headers`: the same records with a Herald message's key and seven headers, the ceiling of
 * any kafkajs publisher of Herald's wire format.
 */
export const rawKafka: Workload = {
  id: 'raw-kafka',
  title: 'kafkajs: batched produce (1000/batch, acks all, 3 in flight) + consumer group, 3 partitions, 1 KB',
  services: ['kafka'],
  timeoutMs: (quick) => (quick ? 180_000 : 480_000),
  async run(ctx) {
    const plain = await rawKafkaRun(ctx, false);
    const shaped = await rawKafkaRun(ctx, true);
    return { ...plain, variants: { 'herald-headers': shaped } };
  },
};

async function rawKafkaRun(ctx: WorkloadContext, heraldHeaders: boolean): Promise<WorkloadResult> {
  const count = ctx.drainCount;
  const name = heraldHeaders ? 'raw-kafka-hh' : 'raw-kafka';
  const topic = `bench.${ctx.runId}.raw${heraldHeaders ? '.hh' : ''}`;
  const timeoutMs = ctx.quick ? 90_000 : 240_000;
  try {
    const consumer = ctx.workers.spawn(`${name}-con`, 'raw-kafka-con', {
      brokers: ctx.engines.kafkaBrokers,
      topic,
      group: `bench-${name}-${ctx.runId}`,
      count,
      partitions: 3,
    });
    await consumer.next('ready', 60_000);
    const producer = ctx.workers.spawn(`${name}-pub`, 'raw-kafka-pub', {
      brokers: ctx.engines.kafkaBrokers,
      topic,
      count,
      batch: 1000,
      inFlight: 3,
      heraldHeaders,
    });
    await producer.next('ready', 30_000);
    producer.send({ type: 'go' });
    const produced = await producer.next('done', timeoutMs);
    const consumed = await consumer.next('done', timeoutMs);
    const elapsed = consumed.last - produced.start;
    return {
      eventsPerSec: rate(consumed.received, elapsed),
      producePerSec: rate(count, produced.end - produced.start),
      events: consumed.received,
      seconds: Math.round(elapsed) / 1000,
      notes: [
        `${count} messages; producer and consumer in separate processes; eachMessage, partitionsConsumedConcurrently 3${
          heraldHeaders ? "; each with a Herald message's key and seven headers" : ''
        }`,
      ],
    };
  } finally {
    await deleteKafkaTopics(ctx.engines.kafkaBrokers, [topic]).catch(() => undefined);
  }
}
