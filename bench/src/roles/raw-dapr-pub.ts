// @dapr/dapr alone, publishing side: the SDK's publishBulk, `batch` 1 KB JSON events per call, `inFlight` calls at a time.
import { CommunicationProtocolEnum, DaprClient } from '@dapr/dapr';
import { nowMs } from '../histogram.ts';
import { benchPayload } from '../payload.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  grpcPort: number;
  pubsub: string;
  topic: string;
  count: number;
  batch: number;
  inFlight: number;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(config.grpcPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: 0 },
  });
  ctx.send({ type: 'ready' });
  await ctx.channel.next('go', 120_000);
  const start = nowMs();
  let next = 0;
  let failed = 0;
  const sender = async () => {
    while (next < config.count) {
      const from = next;
      const size = Math.min(config.batch, config.count - from);
      next += size;
      const response = await client.pubsub.publishBulk(
        config.pubsub,
        config.topic,
        Array.from({ length: size }, (_, i) => benchPayload(from + i + 1)),
      );
      failed += response.failedMessages.length;
    }
  };
  await Promise.all(Array.from({ length: config.inFlight }, sender));
  const end = nowMs();
  ctx.send({ type: 'done', start, end, failed });
  await client.stop();
}
