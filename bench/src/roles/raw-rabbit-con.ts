// amqplib alone, consuming side: a durable queue bound to a durable topic exchange, manual acks.
import amqp from 'amqplib';
import { nowMs } from '../histogram.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  url: string;
  exchange: string;
  queue: string;
  routingKey: string;
  count: number;
  prefetch: number;
  /** Count messages whose AMQP messageId was seen before (relay workloads). */
  countDuplicates?: boolean;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const connection = await amqp.connect(config.url);
  const channel = await connection.createChannel();
  await channel.assertExchange(config.exchange, 'topic', { durable: true });
  await channel.assertQueue(config.queue, { durable: true });
  await channel.bindQueue(config.queue, config.exchange, config.routingKey);
  await channel.purgeQueue(config.queue);
  await channel.prefetch(config.prefetch);
  let received = 0;
  let duplicates = 0;
  const seen = new Set<string>();
  let first = 0;
  let last = 0;
  const done = new Promise<void>((resolve) => {
    void channel.consume(config.queue, (message) => {
      if (!message) return;
      const t = nowMs();
      if (received === 0) first = t;
      received++;
      let fresh = true;
      if (config.countDuplicates) {
        const id = String(message.properties.messageId);
        fresh = !seen.has(id);
        if (fresh) seen.add(id);
        else duplicates++;
      }
      // A late duplicate does not stretch the measured drain.
      if (fresh) last = t;
      channel.ack(message);
      if (received - duplicates === config.count) resolve();
    });
  });
  ctx.send({ type: 'ready' });
  const timer = setInterval(() => ctx.send({ type: 'progress', received }), 500);
  const stop = ctx.channel.next('stop', 3_600_000).then(() => 'stop' as const);
  const outcome = await Promise.race([done.then(() => 'done' as const), stop]);
  clearInterval(timer);
  // Duplicates that arrive after the count was reached are still counted (for relays-4's settle time).
  if (config.countDuplicates) {
    ctx.send({ type: 'reached', received, duplicates, first, last });
    await ctx.channel.next('settled', 60_000).catch(() => undefined);
  }
  ctx.send({ type: 'done', received, duplicates, first, last, stopped: outcome === 'stop' });
  await channel.deleteQueue(config.queue).catch(() => undefined);
  await channel.deleteExchange(config.exchange).catch(() => undefined);
  await connection.close();
}
