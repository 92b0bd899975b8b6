import { rate, type Workload } from '../workload.ts';

/** amqplib alone: the ceiling the relay and consumer are measured against. */
export const rawRabbit: Workload = {
  id: 'raw-rabbit',
  title: 'amqplib: confirmed publish (window 1000) + consume, durable queue, 1 KB',
  services: ['rabbitmq'],
  timeoutMs: (quick) => (quick ? 60_000 : 180_000),
  async run(ctx) {
    const count = ctx.drainCount;
    const exchange = `bench.raw.${ctx.runId}`;
    const queue = `${exchange}.q`;
    const consumer = ctx.workers.spawn('raw-rabbit-con', 'raw-rabbit-con', {
      url: ctx.engines.rabbitUrl,
      exchange,
      queue,
      routingKey: 'bench.event',
      count,
      prefetch: 256,
    });
    await consumer.next('ready', 30_000);
    const publisher = ctx.workers.spawn('raw-rabbit-pub', 'raw-rabbit-pub', {
      url: ctx.engines.rabbitUrl,
      exchange,
      routingKey: 'bench.event',
      count,
      window: 1000,
    });
    await publisher.next('ready', 30_000);
    publisher.send({ type: 'go' });
    const published = await publisher.next('done', this.timeoutMs(ctx.quick));
    const consumed = await consumer.next('done', this.timeoutMs(ctx.quick));
    const elapsed = consumed.last - published.start;
    return {
      eventsPerSec: rate(consumed.received, elapsed),
      publishPerSec: rate(count, published.end - published.start),
      events: consumed.received,
      seconds: Math.round(elapsed) / 1000,
      nacked: published.failed,
      notes: [
        `${count} messages, publisher and consumer in separate processes, prefetch 256, ack per message`,
      ],
    };
  },
};
