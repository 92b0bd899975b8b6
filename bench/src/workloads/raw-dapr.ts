import { PUBSUB, startSidecar } from '../dapr-sidecar.ts';
import { rate, type Workload } from '../workload.ts';

/**
 * @dapr/dapr alone through one daprd and its Redis Streams component: the SDK's bulk publish
 * (1000 per call, 3 calls in flight) + a streaming subscription answering SUCCESS at once.
 * The ceiling drain-dapr is compared with (same sidecar binary, same component settings).
 */
export const rawDapr: Workload = {
  id: 'raw-dapr',
  title:
    '@dapr/dapr: bulk publish (1000/call, 3 in flight) + streaming subscription, daprd 1.18 → Redis Streams, 1 KB',
  services: ['redis', 'dapr'],
  timeoutMs: (quick) => (quick ? 120_000 : 400_000),
  async run(ctx) {
    const count = ctx.quick ? 5_000 : ctx.drainCount;
    const topic = `bench.${ctx.runId}.raw-dapr`;
    const sidecar = await startSidecar(`bench-raw-${ctx.runId}`, ctx.engines.redisUrls[0]!);
    try {
      const consumer = ctx.workers.spawn('raw-dapr-con', 'raw-dapr-con', {
        grpcPort: sidecar.grpcPort,
        pubsub: PUBSUB,
        topic,
        count,
      });
      await consumer.next('ready', 60_000);
      const producer = ctx.workers.spawn('raw-dapr-pub', 'raw-dapr-pub', {
        grpcPort: sidecar.grpcPort,
        pubsub: PUBSUB,
        topic,
        count,
        batch: 1000,
        inFlight: 3,
      });
      await producer.next('ready', 30_000);
      producer.send({ type: 'go' });
      const produced = await producer.next('done', this.timeoutMs(ctx.quick));
      const consumed = await consumer.next('done', this.timeoutMs(ctx.quick));
      const elapsed = consumed.last - produced.start;
      return {
        eventsPerSec: rate(consumed.received, elapsed),
        producePerSec: rate(count, produced.end - produced.start),
        events: consumed.received,
        failedPublishes: produced.failed,
        seconds: Math.round(elapsed) / 1000,
        notes: [
          `${count} messages; producer and consumer in separate processes, one daprd (Redis Streams component, concurrency 100)`,
        ],
      };
    } finally {
      await sidecar.stop();
    }
  },
};
