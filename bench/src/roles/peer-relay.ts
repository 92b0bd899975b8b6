// The peer's outbox listener (polling) with a message publisher that sends each message to RabbitMQ
// on a confirm channel and resolves once the broker confirmed it (the README's contract: the
// publisher guarantees at-least-once delivery before the message is marked processed).
import amqp from 'amqplib';
import {
  type GeneralMessageHandler,
  initializePollingMessageListener,
  type TransactionalMessage,
} from 'pg-transactional-outbox';
import { nowMs } from '../histogram.ts';
import { listenerConfig, type PeerTuning, peerLogger } from '../peer.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  dbUrl: string;
  rabbitUrl: string;
  exchange: string;
  tuning: PeerTuning;
  poolSize: number;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const connection = await amqp.connect(config.rabbitUrl);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(config.exchange, 'topic', { durable: true });
  let sent = 0;
  const publisher: GeneralMessageHandler = {
    handle: (message: TransactionalMessage) =>
      new Promise<void>((resolve, reject) => {
        channel.publish(
          config.exchange,
          message.messageType,
          Buffer.from(JSON.stringify(message)),
          { persistent: true, messageId: message.id, contentType: 'application/json' },
          (error: unknown) => {
            if (error) reject(error instanceof Error ? error : new Error(String(error)));
            else {
              sent++;
              resolve();
            }
          },
        );
      }),
  };
  ctx.send({ type: 'ready' });
  await ctx.channel.next('go', 600_000);
  const startedAt = nowMs();
  const [shutdown] = initializePollingMessageListener(
    listenerConfig('outbox', config.dbUrl, config.tuning, config.poolSize),
    publisher,
    peerLogger(),
  );
  ctx.send({ type: 'started', startedAt });
  const progress = setInterval(() => ctx.send({ type: 'progress', sent }), 500);
  await ctx.channel.next('stop', 3_600_000);
  clearInterval(progress);
  await shutdown();
  await channel.close().catch(() => undefined);
  await connection.close().catch(() => undefined);
}
