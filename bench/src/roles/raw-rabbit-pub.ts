// amqplib alone, publishing side: persistent 1 KB messages on a confirm channel with a window
// of unconfirmed messages (the same window Herald's transport uses by default).
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { nowMs } from '../histogram.ts';
import { rawBody } from '../payload.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  url: string;
  exchange: string;
  routingKey: string;
  count: number;
  window: number;
  /** The properties and header table a Herald message carries (what the broker then parses per message). */
  heraldHeaders?: boolean;
}

function heraldShapedOptions(seq: number) {
  const now = new Date();
  return {
    persistent: true,
    messageId: randomUUID(),
    type: 'bench.event',
    contentType: 'application/json',
    timestamp: Math.floor(now.getTime() / 1000),
    headers: {
      'herald-version': '1',
      'herald-occurred-at': now.toISOString(),
      'herald-source': 'bench',
      'herald-sequence': String(seq),
    },
  };
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const connection = await amqp.connect(config.url);
  const channel = await connection.createConfirmChannel();
  ctx.send({ type: 'ready' });
  await ctx.channel.next('go', 120_000);
  const start = nowMs();
  let inFlight = 0;
  let failed = 0;
  let wake: (() => void) | undefined;
  const settle = () => {
    inFlight--;
    wake?.();
  };
  for (let seq = 1; seq <= config.count; seq++) {
    while (inFlight >= config.window) await new Promise<void>((resolve) => (wake = resolve));
    inFlight++;
    const writable = channel.publish(
      config.exchange,
      config.routingKey,
      rawBody(seq),
      config.heraldHeaders
        ? heraldShapedOptions(seq)
        : { persistent: true, messageId: String(seq), contentType: 'application/json' },
      (error: unknown) => {
        if (error) failed++;
        settle();
      },
    );
    if (!writable) await new Promise<void>((resolve) => channel.once('drain', resolve));
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  const end = nowMs();
  ctx.send({ type: 'done', start, end, failed });
  await channel.close();
  await connection.close();
}
