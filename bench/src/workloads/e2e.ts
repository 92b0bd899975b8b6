import { deleteRabbitTopology } from '../brokers.ts';
import { dbStats, POOL_SIZE, perEvent, resetTables, statsDelta, withClient } from '../db.ts';
import type { HeraldConfig, TransportConfig } from '../herald.ts';
import { LatencyRecorder, round2 } from '../histogram.ts';
import { progressUntil, type Workload, type WorkloadContext, type WorkloadResult } from '../workload.ts';

export interface OpenLoopOptions {
  transport: TransportConfig;
  /** Total transactions per second over all producers. */
  rate: number;
  seconds: number;
  producers: number;
  name: string;
  options?: Record<string, number>;
  /** Per-message stage timestamps in every process, and their breakdown in the result. */
  stages?: boolean;
}

/** The stages of one event, ms between consecutive stamps (CLOCK_MONOTONIC, one clock for every process). */
const STAGES = [
  ["start (scheduled → transaction started: the load generator's timer)", 'scheduled', 'started'],
  ['transaction (started → committed)', 'started', 'committed'],
  ['wake (committed → claim started)', 'committed', 'claimStarted'],
  ['claim (probe, BEGIN, SELECT … FOR UPDATE)', 'claimStarted', 'claimed'],
  ['publish → consumer receives', 'claimed', 'received'],
  ['receive → inbox entry written', 'received', 'inboxBegin'],
  ['inbox entry → handler', 'inboxBegin', 'handled'],
  ['(off the path) publish → broker confirms', 'claimed', 'confirmed'],
  ['(off the path) confirm → mark committed', 'confirmed', 'marked'],
] as const;

type Stamps = Partial<Record<(typeof STAGES)[number][1 | 2], number>>;

/** Joins the producers', the relay's and the consumer's stamps by message id and seq; p50/p99 per stage. */
function stageBreakdown(
  producers: Array<{ commits: Array<[number, number, number, number]>; relay: Array<[string, number[]]> }>,
  consumer: Array<[string, number, ...number[]]>,
) {
  const commits = new Map<number, [number, number, number]>();
  const relay = new Map<string, number[]>();
  for (const p of producers) {
    for (const [seq, scheduled, started, committed] of p.commits)
      commits.set(seq, [scheduled, started, committed]);
    for (const [id, stamps] of p.relay) relay.set(id, stamps);
  }
  const recorders = STAGES.map(() => new LatencyRecorder());
  let joined = 0;
  for (const [id, seq, ...rest] of consumer) {
    const commit = commits.get(seq);
    const r = relay.get(id);
    if (!commit || !r || rest.length < 3) continue;
    joined++;
    const [received, inboxBegin, handled] = rest as [number, number, number];
    const stamps: Stamps = {
      scheduled: commit[0],
      started: commit[1],
      committed: commit[2],
      claimStarted: r[0],
      claimed: r[1],
      confirmed: r[2],
      marked: r[3],
      received,
      inboxBegin,
      handled,
    };
    STAGES.forEach(([, from, to], i) => {
      const a = stamps[from];
      const b = stamps[to];
      if (a !== undefined && b !== undefined) recorders[i]!.record(b - a);
    });
  }
  return {
    joined,
    stages: Object.fromEntries(
      STAGES.map(([label], i) => [
        label,
        { p50Ms: round2(recorders[i]!.percentile(50)), p99Ms: round2(recorders[i]!.percentile(99)) },
      ]),
    ),
  };
}

/**
 * Producers commit business transactions (UPDATE + INSERT + outbox insert) at a fixed open-loop
 * rate; the relay runs in producer 0 (woken in-process for its own commits, by NOTIFY for the
 * others'); a consumer process handles the events. Latency = handler time − scheduled time.
 */
export async function openLoop(ctx: WorkloadContext, o: OpenLoopOptions): Promise<WorkloadResult> {
  const base: HeraldConfig = {
    dbUrl: ctx.dbUrl,
    service: 'bench-producer',
    eventName: `bench.${ctx.runId}.${o.name}`,
    transport: o.transport,
    poolSize: POOL_SIZE,
    ...(o.options ? { options: o.options } : {}),
    ...(o.stages ? { stages: true } : {}),
  };
  await resetTables(ctx.dbUrl);
  const consumer = ctx.workers.spawn(`${o.name}-consumer`, 'herald-bus', {
    ...base,
    service: 'bench-consumer',
    relay: false,
    handle: true,
    startNow: true,
  });
  await consumer.next('started', 60_000);
  const warmup = ctx.quick ? 2 : 3;
  // Warm-up: JIT, pools and the broker path, at the same rate; not measured.
  const producers = Array.from({ length: o.producers }, (_, i) =>
    ctx.workers.spawn(`${o.name}-producer-${i}`, 'herald-producer', {
      ...base,
      mode: 'open-loop',
      relay: i === 0,
      rate: o.rate / o.producers,
      seconds: o.seconds,
      warmupSeconds: warmup,
      seqOffset: i * 10_000_000,
    }),
  );
  for (const p of producers) await p.next('ready', 60_000);
  const before = await withClient(ctx.dbUrl, dbStats);
  for (const p of producers) p.send({ type: 'go' });
  const done = await Promise.all(producers.map((p) => p.next('done', (o.seconds + 60) * 1000)));
  const committed = done.reduce((sum, d) => sum + d.done, 0);
  const committedAll = done.reduce((sum, d) => sum + d.all, 0);
  const errors = done.reduce((sum, d) => sum + d.errors, 0);
  // Wait until the consumer handled everything that was committed (bounded; reported if not).
  let unhandled: string | undefined;
  await progressUntil(
    (async () => {
      for (;;) {
        const m = await consumer.next('progress', 10_000);
        if (m.handled >= committedAll) return;
      }
    })(),
    { timeoutMs: ctx.quick ? 30_000 : 60_000, what: `handling the ${committedAll} committed events` },
  ).catch((error: Error) => {
    unhandled = error.message;
  });
  const after = await withClient(ctx.dbUrl, dbStats);
  consumer.send({ type: 'report' });
  const report = await consumer.next('report', 30_000);
  let breakdown: ReturnType<typeof stageBreakdown> | undefined;
  if (o.stages) {
    for (const p of producers) p.send({ type: 'stages' });
    const stamps = await Promise.all(producers.map((p) => p.next('stages', 30_000)));
    breakdown = stageBreakdown(stamps as never, report.stages);
  }
  await Promise.all([consumer, ...producers].map((w) => w.stop()));
  return {
    p50Ms: report.latency.p50Ms,
    p90Ms: report.latency.p90Ms,
    p99Ms: report.latency.p99Ms,
    maxMs: report.latency.maxMs,
    measured: report.latency.count,
    ...(unhandled ? { unfinished: unhandled } : {}),
    committed,
    handled: report.handled,
    duplicates: report.duplicates,
    errors,
    ...(errors > 0 ? { lastError: done.find((d) => d.errors > 0)?.lastError } : {}),
    commitLatency: done.map((d) => d.commit),
    achievedRate: Math.round(committed / o.seconds),
    ...perEvent(statsDelta(before, after), committedAll),
    ...(breakdown ? { breakdown } : {}),
  };
}

export const e2eRabbit: Workload = {
  id: 'e2e-rabbit',
  title:
    'producers commit at 1k/s open loop → outbox → relay → RabbitMQ → inbox → handler; latency from schedule',
  services: ['postgres', 'rabbitmq'],
  timeoutMs: (quick) => (quick ? 120_000 : 240_000),
  async run(ctx) {
    const transport: TransportConfig = {
      kind: 'rabbitmq',
      url: ctx.engines.rabbitUrl,
      exchange: `bench.${ctx.runId}.e2e`,
    };
    const seconds = ctx.quick ? 12 : 60;
    const lowTargets = (low: WorkloadResult) => [
      { label: `at 100/s: p50 ≤ 3 ms (${low.p50Ms})`, met: (low.p50Ms as number) <= 3 },
      { label: `at 100/s: p99 ≤ 10 ms (${low.p99Ms})`, met: (low.p99Ms as number) <= 10 },
    ];
    try {
      if (process.env.BENCH_E2E_LOW_ONLY) {
        // Only the 100/s phase with its stage breakdown (looking at the low-load path alone).
        const low = await openLoop(ctx, {
          transport,
          rate: 100,
          seconds: ctx.quick ? 6 : 30,
          producers: 1,
          name: 'e2e100',
          stages: true,
        });
        return {
          ...low,
          targets: lowTargets(low),
          notes: [
            'BENCH_E2E_LOW_ONLY: the 100/s phase alone (1 producer with the relay), with per-stage stamps',
          ],
        };
      }
      const result = await openLoop(ctx, { transport, rate: 1000, seconds, producers: 2, name: 'e2e' });
      // The same path at other rates: the pipeline's own latency at low load, and where it saturates.
      // Per-stage stamps at 100/s only: parsing and keeping them would cost something at 2k/s.
      const at = (rate: number, producers: number, name: string) =>
        openLoop(ctx, {
          transport,
          rate,
          seconds: ctx.quick ? 6 : 30,
          producers,
          name,
          ...(rate <= 100 ? { stages: true } : {}),
        });
      const variants: Record<string, WorkloadResult> = {};
      for (const [label, rate, producers] of [
        ['at-100/s', 100, 1],
        ['at-500/s', 500, 2],
        ['at-2k/s', 2000, 2],
      ] as const) {
        const variant = await at(rate, producers, `e2e${rate}`);
        variants[label] = {
          p50Ms: variant.p50Ms,
          p99Ms: variant.p99Ms,
          maxMs: variant.maxMs,
          errors: variant.errors,
          achievedRate: variant.achievedRate,
          statementsPerEvent: variant.statementsPerEvent,
          walBytesPerEvent: variant.walBytesPerEvent,
          ...(variant.breakdown ? { breakdown: variant.breakdown } : {}),
          ...(variant.unfinished ? { unfinished: variant.unfinished } : {}),
        };
      }
      return {
        ...result,
        variants,
        targets: [
          { label: `p50 ≤ 5 ms (${result.p50Ms})`, met: (result.p50Ms as number) <= 5 },
          { label: `p99 ≤ 25 ms (${result.p99Ms})`, met: (result.p99Ms as number) <= 25 },
          ...lowTargets(variants['at-100/s']!),
        ],
        notes: [
          `2 producer processes × 500 tx/s for ${seconds} s after a warm-up; relay in producer 0; latency = handler − scheduled start of the business transaction (includes the transaction itself)`,
        ],
      };
    } finally {
      await deleteRabbitTopology(transport.url, (transport as { exchange: string }).exchange, [
        'bench-consumer',
      ]).catch(() => undefined);
    }
  },
};
