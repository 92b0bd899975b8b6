import { deleteRabbitTopology } from '../brokers.ts';
import { POOL_SIZE, resetTables, withClient } from '../db.ts';
import type { TransportConfig } from '../herald.ts';
import { type PeerTuning, setupPeerTables } from '../peer.ts';
import {
  progressUntil,
  rate,
  ratioOf,
  type Workload,
  type WorkloadContext,
  type WorkloadResult,
} from '../workload.ts';
import { drain } from './drain.ts';
import { openLoop } from './e2e.ts';

const PEER_DEFAULTS: PeerTuning = { prefetch: 32 };
/** Tuned for throughput: bigger batches (= messages in flight), short polling. */
const PEER_TUNED: PeerTuning = { batchSize: 100, pollingIntervalMs: 20, prefetch: 128 };
/** Herald tuned the same way: more deliveries in flight. */
const HERALD_TUNED = { options: { concurrency: 64 }, prefetch: 128 };

async function peerRun(
  ctx: WorkloadContext,
  name: string,
  tuning: PeerTuning,
  count: number,
  e2eRate: number,
  e2eSeconds: number,
) {
  const exchange = `bench.${ctx.runId}.${name}`;
  const queue = `${exchange}.inbox`;
  const common = {
    dbUrl: ctx.dbUrl,
    rabbitUrl: ctx.engines.rabbitUrl,
    exchange,
    tuning,
    poolSize: POOL_SIZE,
  };
  try {
    // Drain: `count` messages committed in the peer's outbox, then listener → RabbitMQ → inbox → handler.
    await resetTables(ctx.dbUrl);
    await withClient(ctx.dbUrl, setupPeerTables);
    const filler = ctx.workers.spawn(`${name}-fill`, 'peer-producer', {
      dbUrl: ctx.dbUrl,
      mode: 'fill',
      poolSize: POOL_SIZE,
      count,
    });
    await filler.next('ready', 30_000);
    filler.send({ type: 'go' });
    await filler.next('done', 300_000);
    await filler.stop();
    const consumer = ctx.workers.spawn(`${name}-consumer`, 'peer-consumer', {
      ...common,
      queue,
      expected: count,
    });
    await consumer.next('started', 60_000);
    const relay = ctx.workers.spawn(`${name}-relay`, 'peer-relay', common);
    await relay.next('ready', 60_000);
    relay.send({ type: 'go' });
    const { startedAt } = await relay.next('started', 60_000);
    const limit = ctx.quick ? 20_000 : 180_000;
    let handledSoFar = 0;
    consumer.channel.on('progress', (m) => (handledSoFar = m.handled));
    const done = await Promise.race([
      consumer.next('done', limit + 1_000),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), limit)),
    ]);
    const drained = done
      ? { eventsPerSec: rate(done.handled, done.last - startedAt), events: done.handled }
      : {
          eventsPerSec: rate(handledSoFar, limit),
          events: handledSoFar,
          note: `did not finish ${count} within ${limit / 1000} s`,
        };
    await relay.stop();
    await consumer.stop();

    // Latency: producers commit at an open-loop rate; latency from the scheduled start to the handler.
    await resetTables(ctx.dbUrl);
    await withClient(ctx.dbUrl, setupPeerTables);
    const consumer2 = ctx.workers.spawn(`${name}-consumer-e2e`, 'peer-consumer', { ...common, queue });
    await consumer2.next('started', 60_000);
    const relay2 = ctx.workers.spawn(`${name}-relay-e2e`, 'peer-relay', common);
    await relay2.next('ready', 60_000);
    relay2.send({ type: 'go' });
    await relay2.next('started', 60_000);
    const producer = ctx.workers.spawn(`${name}-producer`, 'peer-producer', {
      dbUrl: ctx.dbUrl,
      mode: 'open-loop',
      poolSize: POOL_SIZE,
      rate: e2eRate,
      seconds: e2eSeconds,
      warmupSeconds: 2,
    });
    await producer.next('ready', 30_000);
    producer.send({ type: 'go' });
    const produced = await producer.next('done', (e2eSeconds + 60) * 1000);
    await progressUntil(
      (async () => {
        for (;;) if ((await consumer2.next('progress', 10_000)).handled >= produced.all) return;
      })(),
      { timeoutMs: 30_000, what: `${name}: handling ${produced.all} events` },
    ).catch(() => undefined);
    consumer2.send({ type: 'report' });
    const report = await consumer2.next('report', 30_000);
    await Promise.all([producer, relay2, consumer2].map((w) => w.stop()));
    return {
      ...drained,
      p50Ms: report.latency.p50Ms,
      p99Ms: report.latency.p99Ms,
      maxMs: report.latency.maxMs,
      latencyCount: report.latency.count,
      e2eHandled: report.handled,
      e2eCommitted: produced.all,
      duplicates: report.duplicates,
    } as WorkloadResult;
  } finally {
    await deleteRabbitTopology(ctx.engines.rabbitUrl, exchange, []).catch(() => undefined);
    await withClient(ctx.dbUrl, async (db) => {
      await db.query('DROP SCHEMA IF EXISTS peer CASCADE');
    }).catch(() => undefined);
  }
}

/** pg-transactional-outbox beside Herald: same PostgreSQL, same RabbitMQ, same no-op handler. */
export const peer: Workload = {
  id: 'peer',
  title:
    'pg-transactional-outbox (polling listeners) vs Herald, defaults and tuned: drain events/s, latency at a fixed rate',
  services: ['postgres', 'rabbitmq'],
  timeoutMs: (quick) => (quick ? 300_000 : 900_000),
  async run(ctx) {
    const count = ctx.quick ? 2_000 : 20_000;
    const e2eRate = 100;
    const e2eSeconds = ctx.quick ? 5 : 30;
    ctx.log('peer at its defaults');
    const peerDefaults = await peerRun(ctx, 'peer-defaults', PEER_DEFAULTS, count, e2eRate, e2eSeconds);
    ctx.log('peer tuned');
    const peerTuned = await peerRun(ctx, 'peer-tuned', PEER_TUNED, count, e2eRate, e2eSeconds);
    const herald = async (name: string, tuned: boolean): Promise<WorkloadResult> => {
      const transport: TransportConfig = {
        kind: 'rabbitmq',
        url: ctx.engines.rabbitUrl,
        exchange: `bench.${ctx.runId}.${name}`,
        ...(tuned ? { prefetch: HERALD_TUNED.prefetch } : {}),
      };
      try {
        const options = tuned ? HERALD_TUNED.options : undefined;
        const drained = await drain(ctx, name, {
          transport,
          count,
          timeoutMs: ctx.quick ? 20_000 : 180_000,
          ...(options ? { options } : {}),
        });
        const latency = await openLoop(ctx, {
          transport,
          rate: e2eRate,
          seconds: e2eSeconds,
          producers: 1,
          name: `${name}-e2e`,
          ...(options ? { options } : {}),
        });
        return {
          eventsPerSec: drained.eventsPerSec,
          events: drained.events,
          p50Ms: latency.p50Ms,
          p99Ms: latency.p99Ms,
          maxMs: latency.maxMs,
          duplicates: (drained.duplicates as number) + (latency.duplicates as number),
        };
      } finally {
        for (const suffix of ['', '-e2e']) {
          await deleteRabbitTopology(ctx.engines.rabbitUrl, `bench.${ctx.runId}.${name}${suffix}`, [
            'bench-consumer',
          ]).catch(() => undefined);
        }
      }
    };
    // Quick runs skip Herald at its defaults here (drain-rabbit and e2e-rabbit/at-100/s show it).
    let heraldDefaults: WorkloadResult | undefined;
    if (!ctx.quick) {
      ctx.log('Herald at its defaults');
      heraldDefaults = await herald('herald-defaults', false);
    }
    ctx.log('Herald tuned');
    const heraldTuned = await herald('herald-tuned', true);
    const ratio = ratioOf(heraldTuned.eventsPerSec, peerTuned.eventsPerSec);
    return {
      eventsPerSec: heraldTuned.eventsPerSec,
      ratio,
      p50Ms: heraldTuned.p50Ms,
      p99Ms: heraldTuned.p99Ms,
      maxMs: heraldTuned.maxMs,
      summary: `peer tuned ${peerTuned.eventsPerSec} ev/s, p99 ${peerTuned.p99Ms} ms`,
      variants: {
        'peer-defaults': peerDefaults,
        'peer-tuned': peerTuned,
        ...(heraldDefaults ? { 'herald-defaults': heraldDefaults } : {}),
        'herald-tuned': heraldTuned,
      },
      targets: [
        { label: `≥ 3× the peer's throughput, both tuned (${ratio}×)`, met: (ratio ?? 0) >= 3 },
        {
          label: `lower p99 than the peer, both tuned (${heraldTuned.p99Ms} vs ${peerTuned.p99Ms} ms)`,
          met: (heraldTuned.p99Ms as number) < (peerTuned.p99Ms as number),
        },
      ],
      notes: [
        `${count} events drained; latency at ${e2eRate} tx/s open loop for ${e2eSeconds} s (one producer process, pool ${POOL_SIZE})`,
        `peer: pg-transactional-outbox polling listeners (outbox and inbox), messages with concurrency 'parallel' (no ordering, as Herald without an ordering key); defaults batch 5 / poll 500 ms / prefetch 32; tuned batch 100 / poll 20 ms / prefetch 128`,
        'Herald: defaults (full run only); tuned = concurrency 64, prefetch 128',
        'ratio = Herald tuned / peer tuned (drain events/s); the row shows Herald tuned',
      ],
    };
  },
};
