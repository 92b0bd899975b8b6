// kafkajs alone, producing side: batches of `batch` 1 KB messages, acks = all, `inFlight` sends at a time.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { nowMs } from '../histogram.ts';
import { rawBody } from '../payload.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  brokers: string[];
  topic: string;
  count: number;
  batch: number;
  inFlight: number;
  /** The key and the seven record headers a Herald message carries (kafkajs encodes each header on its own). */
  heraldHeaders?: boolean;
}

/** A record as raw-kafka sends it, or with the key and the seven headers of a Herald message. */
function record(seq: number, heraldHeaders: boolean | undefined) {
  if (!heraldHeaders) return { key: String(seq), value: rawBody(seq + 1) };
  const id = randomUUID();
  return {
    key: id,
    value: rawBody(seq + 1),
    headers: {
      'herald-id': id,
      'herald-name': 'bench.event',
      'herald-version': '1',
      'herald-occurred-at': new Date().toISOString(),
      'herald-source': 'bench',
      'content-type': 'application/json',
      'herald-sequence': String(seq),
    },
  };
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const kafka = new Kafka({ brokers: config.brokers, clientId: 'bench-raw-pub', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  ctx.send({ type: 'ready' });
  await ctx.channel.next('go', 120_000);
  const start = nowMs();
  let next = 0;
  const sender = async () => {
    while (next < config.count) {
      const from = next;
      const size = Math.min(config.batch, config.count - from);
      next += size;
      await producer.send({
        topic: config.topic,
        acks: -1,
        messages: Array.from({ length: size }, (_, i) => record(from + i, config.heraldHeaders)),
      });
    }
  };
  await Promise.all(Array.from({ length: config.inFlight }, sender));
  const end = nowMs();
  ctx.send({ type: 'done', start, end });
  await producer.disconnect();
}
