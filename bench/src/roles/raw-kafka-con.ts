// kafkajs alone, consuming side: a consumer group on the topic, eachMessage, automatic commits.
import { Kafka, logLevel } from 'kafkajs';
import { nowMs } from '../histogram.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  brokers: string[];
  topic: string;
  group: string;
  count: number;
  partitions: number;
  /** Count messages whose `herald-id` header was seen before (relay workloads). */
  countDuplicates?: boolean;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const kafka = new Kafka({ brokers: config.brokers, clientId: 'bench-raw-con', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic: config.topic, numPartitions: config.partitions }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const consumer = kafka.consumer({ groupId: config.group, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: config.topic, fromBeginning: true });
  let received = 0;
  let duplicates = 0;
  const seen = new Set<string>();
  let first = 0;
  let last = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    partitionsConsumedConcurrently: config.partitions,
    eachMessage: async ({ message }) => {
      const t = nowMs();
      if (received === 0) first = t;
      received++;
      let fresh = true;
      if (config.countDuplicates) {
        const id = String(message.headers?.['herald-id'] ?? '');
        fresh = !seen.has(id);
        if (fresh) seen.add(id);
        else duplicates++;
      }
      // A late duplicate does not stretch the measured drain.
      if (fresh) last = t;
      if (received - duplicates === config.count) resolveDone();
    },
  });
  await joined;
  ctx.send({ type: 'ready' });
  const stop = ctx.channel.next('stop', 3_600_000).then(() => 'stop' as const);
  const outcome = await Promise.race([done.then(() => 'done' as const), stop]);
  // Duplicates that arrive after the count was reached are still counted (relays-4 waits, then says `settled`).
  if (config.countDuplicates) {
    ctx.send({ type: 'reached', received, duplicates, first, last });
    await ctx.channel.next('settled', 60_000).catch(() => undefined);
  }
  ctx.send({ type: 'done', received, duplicates, first, last, stopped: outcome === 'stop' });
  await consumer.disconnect();
}
