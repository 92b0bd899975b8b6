import { deleteRabbitTopology } from '../brokers.ts';
import { resetTables, withClient } from '../db.ts';
import type { HeraldConfig } from '../herald.ts';
import { LatencyRecorder, round2 } from '../histogram.ts';
import type { WorkerOptions } from '../proc.ts';
import { progressUntil, rate, type Workload, type WorkloadContext } from '../workload.ts';
import { fillOutbox } from './drain.ts';

/** 1M; BENCH_BACKLOG_ROWS overrides it (to try the workload quickly). */
const ROWS = Number(process.env.BENCH_BACKLOG_ROWS ?? 1_000_000);

/**
 * A 1M-row outbox drained by one relay: its RSS over time and the claim latency at the start vs
 * the end (does the claim query slow down with table size?). The events go to a plain amqplib
 * consumer (ack only): the relay is what is measured, not the inbox.
 */
/**
 * Node settings that keep a relay's memory flat and small (see README, "Memory"): a 1 MB
 * semi-space (batches that live across their confirms no longer make V8 grow the young
 * generation to its maximum), a 64 MB old-space limit (V8 then collects at a small heap instead
 * of sizing it to the allocation rate) and two malloc arenas. Sized for 1 KB events at the
 * default batchSize of 1,000: the limit must hold a batch several times over.
 */
export const SMALL_HEAP_RELAY: WorkerOptions = {
  nodeArgs: ['--max-semi-space-size=1', '--max-old-space-size=64'],
  env: { MALLOC_ARENA_MAX: '2' },
};

/** Fills the outbox with ROWS copies of one event, then drains it with one relay; its RSS over time and claim latency. */
async function drainBacklog(
  ctx: WorkloadContext,
  base: HeraldConfig,
  exchange: string,
  label: string,
  relayOptions: WorkerOptions,
) {
  await resetTables(ctx.dbUrl);
  ctx.log(`${label}: filling the outbox with ${ROWS} rows (one published event copied with fresh ids)`);
  await fillOutbox(ctx, base, 1);
  await withClient(ctx.dbUrl, async (db) => {
    await db.query(
      `INSERT INTO herald_outbox (id, name, ordering_key, bucket, headers, body, status, attempts, created_at, lease_until)
       SELECT u.id, t.name, t.ordering_key, t.bucket, replace(t.headers, t.id, u.id), t.body, 'pending', 0, t.created_at, 0
       FROM (SELECT * FROM herald_outbox LIMIT 1) t
       CROSS JOIN (SELECT gen_random_uuid()::text AS id FROM generate_series(1, $1::int)) u`,
      [ROWS - 1],
    );
    await db.query('VACUUM ANALYZE herald_outbox');
  });
  const consumer = ctx.workers.spawn(`backlog-consumer-${label}`, 'raw-rabbit-con', {
    url: ctx.engines.rabbitUrl,
    exchange,
    queue: `${exchange}.raw`,
    routingKey: base.eventName,
    count: ROWS,
    prefetch: 256,
  });
  await consumer.next('ready', 60_000);
  const relay = ctx.workers.spawn(
    `backlog-relay-${label}`,
    'herald-bus',
    { ...base, relay: true, handle: false, rssEveryMs: 2_000 },
    relayOptions,
  );
  await relay.next('ready', 60_000);
  relay.send({ type: 'go' });
  const { startedAt } = await relay.next('started', 60_000);
  let reported = 0;
  consumer.channel.on('progress', (m) => {
    if (m.received - reported >= ROWS / 10) {
      reported = m.received;
      ctx.log(`${label}: ${m.received} relayed and consumed`);
    }
  });
  const done = await progressUntil(consumer.next('done', 1_300_000), {
    timeoutMs: 1_300_000,
    what: `draining ${ROWS} rows`,
  });
  relay.send({ type: 'report' });
  const report = await relay.next('report', 30_000);
  await Promise.all([relay.stop(), consumer.stop()]);
  const claims = report.claims as Array<[number, number, number]>;
  const full = claims.filter(([, , rows]) => rows >= 1000);
  const tenth = Math.max(1, Math.floor(full.length / 10));
  const p50 = (rows: Array<[number, number, number]>) => {
    const r = new LatencyRecorder();
    for (const [, ms] of rows) r.record(ms);
    return round2(r.percentile(50));
  };
  const rss = report.rss as Array<[number, number]>;
  return {
    eventsPerSec: rate(done.received, done.last - startedAt),
    events: done.received as number,
    rssMb: Math.max(...rss.map(([, mb]) => mb), report.rssNowMb as number),
    rssFirstMb: rss[0]?.[1],
    rssLastMb: rss.at(-1)?.[1],
    rssSamples: rss.filter((_, i) => i % 5 === 0),
    /** [ms, heapTotal, heapUsed, external, arrayBuffers] MB, every 5th sample. */
    heapSamples: (report.heap as unknown[]).filter((_, i) => i % 5 === 0),
    rssByMapping: report.rssByMapping,
    /** The relay's CPU and GC pauses per event (load-insensitive, unlike events/s). */
    cpuUsPerEvent: Math.round(((report.cpuMs as number) * 1000) / Math.max(1, done.received as number)),
    gcUsPerEvent: Math.round(((report.gcMs as number) * 1000) / Math.max(1, done.received as number)),
    claimP50StartMs: p50(full.slice(0, tenth)),
    claimP50EndMs: p50(full.slice(-tenth)),
    claimMs: report.timings.claim,
    markPublishedMs: report.timings.markPublished,
  };
}

export const backlog1m: Workload = {
  id: 'backlog-1m',
  title: '1M-row outbox drained by one relay: RSS over time, claim latency at start vs end',
  services: ['postgres', 'rabbitmq'],
  fullOnly: true,
  timeoutMs: () => 2_700_000,
  async run(ctx) {
    const exchange = `bench.${ctx.runId}.backlog`;
    const eventName = `bench.${ctx.runId}.backlog`;
    const base: HeraldConfig = {
      dbUrl: ctx.dbUrl,
      service: 'bench-relay',
      eventName,
      transport: { kind: 'rabbitmq', url: ctx.engines.rabbitUrl, exchange },
    };
    try {
      const plain = await drainBacklog(ctx, base, exchange, 'node-defaults', {});
      // The same drain with the relay process started with the small-heap settings.
      const small = await drainBacklog(ctx, base, exchange, 'small-heap', SMALL_HEAP_RELAY);
      const { claimP50StartMs: claimStart, claimP50EndMs: claimEnd } = plain;
      return {
        ...plain,
        summary: `claim p50 ${claimStart} → ${claimEnd} ms; RSS ${plain.rssMb} MB, small-heap relay ${small.rssMb} MB`,
        variants: { 'small-heap': small },
        targets: [
          { label: `RSS flat, < 150 MB, Node defaults (max ${plain.rssMb} MB)`, met: plain.rssMb < 150 },
          {
            label: `RSS flat, < 150 MB, relay with ${SMALL_HEAP_RELAY.nodeArgs!.join(' ')} MALLOC_ARENA_MAX=2 (max ${small.rssMb} MB)`,
            met: small.rssMb < 150,
          },
          {
            label: `claim latency independent of table size (p50 first 10% ${claimStart} ms, last 10% ${claimEnd} ms)`,
            met: claimEnd <= claimStart * 1.5 + 5,
          },
        ],
        notes: [
          `${ROWS} rows of 1 KB, batchSize 1000; consumer is plain amqplib (ack only) so the relay is what is measured; drained twice: Node defaults, then the small-heap relay settings`,
        ],
      };
    } finally {
      await deleteRabbitTopology(ctx.engines.rabbitUrl, exchange, []).catch(() => undefined);
      await resetTables(ctx.dbUrl).catch(() => undefined);
    }
  },
};
