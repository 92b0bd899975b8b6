import { rate, type Workload, type WorkloadContext, type WorkloadResult } from '../workload.ts';

/**
 * amqplib alone: the ceiling the relay and consumer are measured against. Then the variant
 * `herald-headers`: the same messages with the properties and header table a Herald message
 * carries, the ceiling of any publisher of Herald's wire format.
 */
export const rawRabbit: Workload = {
  id: 'raw-rabbit',
  title: 'amqplib: confirmed publish (window 1000) + consume, durable queue, 1 KB',
  services: ['rabbitmq'],
  timeoutMs: (quick) => (quick ? 120_000 : 360_000),
  async run(ctx) {
    const plain = await rawRabbitRun(ctx, false);
    const shaped = await rawRabbitRun(ctx, true);
    return { ...plain, variants: { 'herald-headers': shaped } };
  },
};

async function rawRabbitRun(ctx: WorkloadContext, heraldHeaders: boolean): Promise<WorkloadResult> {
  const count = ctx.drainCount;
  const name = heraldHeaders ? 'raw-rabbit-hh' : 'raw-rabbit';
  const exchange = `bench.raw.${ctx.runId}${heraldHeaders ? '.hh' : ''}`;
  const queue = `${exchange}.q`;
  const timeoutMs = ctx.quick ? 60_000 : 180_000;
  const consumer = ctx.workers.spawn(`${name}-con`, 'raw-rabbit-con', {
    url: ctx.engines.rabbitUrl,
    exchange,
    queue,
    routingKey: 'bench.event',
    count,
    prefetch: 256,
  });
  await consumer.next('ready', 30_000);
  const publisher = ctx.workers.spawn(`${name}-pub`, 'raw-rabbit-pub', {
    url: ctx.engines.rabbitUrl,
    exchange,
    routingKey: 'bench.event',
    count,
    window: 1000,
    heraldHeaders,
  });
  await publisher.next('ready', 30_000);
  publisher.send({ type: 'go' });
  const published = await publisher.next('done', timeoutMs);
  const consumed = await consumer.next('done', timeoutMs);
  const elapsed = consumed.last - published.start;
  return {
    eventsPerSec: rate(consumed.received, elapsed),
    publishPerSec: rate(count, published.end - published.start),
    events: consumed.received,
    seconds: Math.round(elapsed) / 1000,
    nacked: published.failed,
    notes: [
      `${count} messages, publisher and consumer in separate processes, prefetch 256, ack per message${
        heraldHeaders ? "; each with a Herald message's properties and header table" : ''
      }`,
    ],
  };
}
