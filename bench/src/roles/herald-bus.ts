// A Herald bus on the bench database: relays the outbox (`relay`), handles the bench event with a
// no-op handler (`handle`), or both. Reports handled counts, latencies (from the event's intended
// send time), duplicates, store timings, RSS and CPU to the runner.
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { type HeraldConfig, heraldBuilder } from '../herald.ts';
import { LatencyRecorder, nowMs } from '../histogram.ts';
import { type BenchPayload, benchEventClass } from '../payload.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config extends HeraldConfig {
  relay: boolean;
  handle: boolean;
  /** Send `done` once this many events were handled. */
  expected?: number;
  /** Start at once (otherwise on `go`). */
  startNow?: boolean;
  /** Sample RSS every this many ms (backlog-1m). */
  rssEveryMs?: number;
  /** The handler inserts one row into bench_orders through ctx.tx. */
  handlerWrites?: boolean;
}

/** RSS by kind of mapping (Linux /proc/self/smaps), MB: what the RSS outside V8's heap is. */
function rssByMapping(): Record<string, number> {
  const sums: Record<string, number> = {};
  let kind = '';
  try {
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (header) {
        const path = header[1] ?? '';
        kind =
          path === ''
            ? 'anonymous'
            : path.startsWith('[')
              ? path
              : path.endsWith('/bin/node')
                ? 'node binary (file-backed, shared)'
                : 'other files';
        continue;
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) sums[kind] = (sums[kind] ?? 0) + Number(rss[1]) / 1024;
    }
  } catch {
    return {};
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round(v)]));
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const Event = benchEventClass(config.eventName);
  const setup = await heraldBuilder(config, { relay: config.relay });
  const latency = new LatencyRecorder();
  const seen = new Set<string>();
  let handled = 0;
  let duplicates = 0;
  let first = 0;
  let last = 0;
  let doneSent = false;
  /** With `stages`: [message id, seq, handler called]. */
  const handledAt: Array<[string, number, number]> = [];
  if (config.handle) {
    setup.builder.handle(Event, async function benchHandler(event: BenchPayload, context) {
      const t = nowMs();
      if (seen.has(context.envelope.id)) duplicates++;
      else seen.add(context.envelope.id);
      if (handled === 0) first = t;
      handled++;
      last = t;
      if (event.t > 0) latency.record(t - event.t);
      if (config.stages && event.t > 0) handledAt.push([context.envelope.id, event.seq, t]);
      if (config.handlerWrites) {
        const tx = context.tx as { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> };
        await tx.$executeRawUnsafe(
          'INSERT INTO bench_orders (id, account_id, amount) VALUES ($1, 0, 1) ON CONFLICT (id) DO NOTHING',
          context.envelope.id,
        );
      }
      if (!doneSent && config.expected !== undefined && handled >= config.expected) {
        doneSent = true;
        ctx.send({ type: 'done', handled, first, last });
      }
    });
  }
  let sent = 0;
  const bus = setup.builder.build();
  bus.on('sent', () => {
    sent++;
  });
  const rss: Array<[number, number]> = [];
  /** [ms, heapTotal, heapUsed, external, arrayBuffers] in MB beside each RSS sample: what the RSS is made of. */
  const heap: Array<[number, number, number, number, number]> = [];
  const t0 = nowMs();
  const sample = () => {
    const m = process.memoryUsage();
    const at = Math.round(nowMs() - t0);
    const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
    rss.push([at, mb(m.rss)]);
    heap.push([at, mb(m.heapTotal), mb(m.heapUsed), mb(m.external), mb(m.arrayBuffers)]);
  };
  const rssTimer = config.rssEveryMs ? setInterval(sample, config.rssEveryMs) : undefined;
  // Warm the pool so the first claim does not pay for connecting.
  await setup.prisma.$queryRawUnsafe('SELECT 1');
  if (!config.startNow) {
    ctx.send({ type: 'ready' });
    await ctx.channel.next('go', 600_000);
  }
  if (config.rssEveryMs) sample();
  // BENCH_ALLOC_PROFILE=dir: sampled allocations from `go` to `report`, collected ones included (what churns the heap).
  const allocations = process.env.BENCH_ALLOC_PROFILE ? new Session() : undefined;
  if (allocations) {
    allocations.connect();
    await allocations.post('HeapProfiler.startSampling', {
      samplingInterval: 64 * 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
  }
  const startedAt = nowMs();
  // CPU and GC pause time from here to the report: the relay's cost per event, whatever the machine's load.
  const cpuAtStart = process.cpuUsage();
  let gcMs = 0;
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  await bus.start();
  if (config.relay && config.listen !== false) await (setup.log.outbox as any).whenListening?.();
  ctx.send({ type: 'started', startedAt });
  const progress = setInterval(() => ctx.send({ type: 'progress', handled, sent, duplicates }), 500);
  ctx.channel.on('cpu', () => ctx.send({ type: 'cpu', usage: process.cpuUsage(), at: nowMs() }));
  ctx.channel.on('report', async () => {
    if (allocations) {
      const { profile } = await allocations.post('HeapProfiler.stopSampling');
      writeFileSync(
        join(process.env.BENCH_ALLOC_PROFILE!, `${config.service}-${process.pid}.heapprofile`),
        JSON.stringify(profile),
      );
    }
    ctx.send({
      type: 'report',
      handled,
      sent,
      duplicates,
      first,
      last,
      latency: latency.summary(),
      timings: setup.timings.summary(),
      claims: setup.timings.claims,
      rss,
      heap,
      rssByMapping: rssByMapping(),
      cpuMs: (() => {
        const used = process.cpuUsage(cpuAtStart);
        return Math.round((used.user + used.system) / 1000);
      })(),
      gcMs: Math.round(gcMs),
      ...(config.stages
        ? { stages: handledAt.map(([id, seq, t]) => [id, seq, ...(setup.received?.get(id) ?? []), t]) }
        : {}),
      rssNowMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      memoryMb: Object.fromEntries(
        Object.entries(process.memoryUsage()).map(([key, bytes]) => [key, Math.round(bytes / 2 ** 20)]),
      ),
    });
  });
  await ctx.channel.next('stop', 3_600_000);
  clearInterval(progress);
  if (rssTimer) clearInterval(rssTimer);
  await bus.stop();
  await setup.close();
  ctx.send({ type: 'stopped' });
}
