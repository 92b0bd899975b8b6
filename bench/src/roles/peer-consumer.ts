// The peer's consuming side: a RabbitMQ receiver that stores each message in the inbox table in
// its own transaction (then acks), and the inbox listener (polling) that runs the no-op handler in
// a transaction that marks the message processed.
import amqp from 'amqplib';
import pg from 'pg';
import {
  executeTransaction,
  initializeMessageStorage,
  initializePollingMessageListener,
  type TransactionalMessage,
  type TransactionalMessageHandler,
} from 'pg-transactional-outbox';
import { LatencyRecorder, nowMs } from '../histogram.ts';
import { listenerConfig, type PeerTuning, peerLogger } from '../peer.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  dbUrl: string;
  rabbitUrl: string;
  exchange: string;
  queue: string;
  tuning: PeerTuning;
  poolSize: number;
  expected?: number;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const inboxConfig = listenerConfig('inbox', config.dbUrl, config.tuning, config.poolSize);
  const pool = new pg.Pool({ connectionString: config.dbUrl, max: config.poolSize });
  const store = initializeMessageStorage(inboxConfig, peerLogger());
  const latency = new LatencyRecorder();
  const seen = new Set<string>();
  let handled = 0;
  let duplicates = 0;
  let stored = 0;
  let first = 0;
  let last = 0;
  let doneSent = false;
  const handler: TransactionalMessageHandler = {
    aggregateType: 'bench',
    messageType: 'bench_event',
    handle: async (message: TransactionalMessage) => {
      const t = nowMs();
      if (seen.has(message.id)) duplicates++;
      else seen.add(message.id);
      if (handled === 0) first = t;
      handled++;
      last = t;
      const payload = message.payload as { t: number };
      if (payload.t > 0) latency.record(t - payload.t);
      if (!doneSent && config.expected !== undefined && handled >= config.expected) {
        doneSent = true;
        ctx.send({ type: 'done', handled, first, last });
      }
    },
  };
  const [shutdown] = initializePollingMessageListener(inboxConfig, [handler], peerLogger());

  const connection = await amqp.connect(config.rabbitUrl);
  const channel = await connection.createChannel();
  await channel.assertExchange(config.exchange, 'topic', { durable: true });
  await channel.assertQueue(config.queue, { durable: true });
  await channel.bindQueue(config.queue, config.exchange, 'bench_event');
  await channel.prefetch(config.tuning.prefetch);
  await channel.consume(config.queue, (delivery) => {
    if (!delivery) return;
    void (async () => {
      try {
        const message = JSON.parse(delivery.content.toString()) as TransactionalMessage;
        await executeTransaction(await pool.connect(), async (client) => {
          await store(message, client);
        });
        stored++;
        channel.ack(delivery);
      } catch {
        // Already stored (a redelivery) or a transient failure: the README's receiver acks duplicates.
        channel.nack(delivery, false, true);
      }
    })();
  });
  ctx.send({ type: 'started', startedAt: nowMs() });
  const progress = setInterval(() => ctx.send({ type: 'progress', handled, stored, duplicates }), 500);
  ctx.channel.on('report', () =>
    ctx.send({ type: 'report', handled, stored, duplicates, first, last, latency: latency.summary() }),
  );
  await ctx.channel.next('stop', 3_600_000);
  clearInterval(progress);
  await channel.close().catch(() => undefined);
  await connection.close().catch(() => undefined);
  await shutdown();
  await pool.end();
}
