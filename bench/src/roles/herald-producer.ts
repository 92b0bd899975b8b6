// Herald producers: business transactions (UPDATE + INSERT) that publish one event each through the
// outbox in the same Prisma transaction.
//   fill:        `count` events, `batch` per transaction, as fast as possible (outbox backlog for drains)
//   open-loop:   `rate` transactions/s for `seconds`, each started at its scheduled time whether or not
//                earlier ones finished (latency is measured from the schedule: coordinated-omission safe)
//   closed-loop: `poolSize` transactions in flight for `seconds` (the producer's ceiling, vs raw-pg)
import { randomUUID } from 'node:crypto';
import { ACCOUNTS } from '../db.ts';
import { type HeraldConfig, heraldBuilder } from '../herald.ts';
import { LatencyRecorder, nowMs } from '../histogram.ts';
import { benchEvent, benchEventClass } from '../payload.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config extends HeraldConfig {
  mode: 'fill' | 'open-loop' | 'closed-loop';
  /** This producer relays too (the usual deployment: the service that publishes runs the relay). */
  relay: boolean;
  count?: number;
  batch?: number;
  rate?: number;
  seconds?: number;
  /** open-loop: first seconds at the same rate whose events are not measured (t = 0). */
  warmupSeconds?: number;
  /** false: the same transaction without `bus.publish` (produce's prisma-only baseline). Default true. */
  publish?: boolean;
  /** Rounds of `seconds`, each started by its own `go` and ended by its own `done`. Default 1. */
  rounds?: number;
  /** Added to sequence numbers so several producers never collide. */
  seqOffset?: number;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const Event = benchEventClass(config.eventName);
  const setup = await heraldBuilder(config, { relay: config.relay });
  const bus = setup.builder.build();
  const prisma = setup.prisma;
  await Promise.all(Array.from({ length: 4 }, () => prisma.$queryRawUnsafe('SELECT 1')));
  if (config.relay) await bus.start();
  const offset = config.seqOffset ?? 0;
  /** With `stages`: [seq, scheduled, started, committed] per measured transaction. */
  const commits: Array<[number, number, number, number]> = [];
  // The relay's stamps (message id → claim, send, confirm, commit), asked for once everything was handled.
  ctx.channel.on('stages', () =>
    ctx.send({ type: 'stages', commits, relay: [...(setup.timings.stages ?? new Map())] }),
  );

  const transaction = async (seq: number, t: number) => {
    await prisma.$transaction(async (tx) => {
      const account = (seq % ACCOUNTS) + 1;
      await tx.$executeRawUnsafe(
        'UPDATE bench_accounts SET balance = balance + $1 WHERE id = $2',
        1,
        account,
      );
      await tx.$executeRawUnsafe(
        'INSERT INTO bench_orders (id, account_id, amount) VALUES ($1, $2, $3)',
        randomUUID(),
        account,
        1,
      );
      if (config.publish !== false) await bus.publish(benchEvent(Event, seq, t), { tx });
    });
  };

  ctx.send({ type: 'ready' });
  // Open loop at ≤ 200/s: start each transaction at its scheduled time, not when a timer fires.
  const PRECISE_START_MIN_INTERVAL_MS = 5;
  const PRECISE_START_SPIN_MS = 1.5;
  // Several rounds (closed-loop): produce interleaves its two variants on a busy machine.
  for (let round = 0; round < (config.rounds ?? 1); round++) {
    await ctx.channel.next('go', 600_000);
    const start = nowMs();
    const latency = new LatencyRecorder();
    let errors = 0;
    let lastError = '';
    let done = 0;
    /** Committed including the warm-up. */
    let all = 0;

    if (config.mode === 'fill') {
      const count = config.count ?? 0;
      const batch = config.batch ?? 1000;
      for (let from = 0; from < count; from += batch) {
        const size = Math.min(batch, count - from);
        await prisma.$transaction(
          async (tx) => {
            await bus.publish(
              Array.from({ length: size }, (_, i) => benchEvent(Event, offset + from + i + 1)),
              { tx },
            );
          },
          { timeout: 60_000 },
        );
        done += size;
      }
    } else if (config.mode === 'open-loop') {
      const rate = config.rate ?? 1000;
      const warmup = Math.round(rate * (config.warmupSeconds ?? 0));
      const total = warmup + Math.round(rate * (config.seconds ?? 10));
      const interval = 1000 / rate;
      const inFlight = new Set<Promise<void>>();
      let issued = 0;
      while (issued < total) {
        const now = nowMs();
        // Issue every transaction whose scheduled time has come (a late timer issues a burst).
        while (issued < total && start + issued * interval <= now) {
          const intended = start + issued * interval;
          const measured = issued >= warmup;
          const seq = offset + ++issued;
          const startedAt = nowMs();
          const p = transaction(seq, measured ? intended : 0)
            .then(
              () => {
                all++;
                if (!measured) return;
                const committedAt = nowMs();
                latency.record(committedAt - intended);
                if (config.stages) commits.push([seq, intended, startedAt, committedAt]);
                done++;
              },
              (error: unknown) => {
                errors++;
                lastError = String(error).slice(0, 300);
              },
            )
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        const wait = start + issued * interval - nowMs();
        if (wait <= 0) continue;
        // A timer fires up to ~1 ms late (p50 0.5–0.65 ms measured at 100/s), which would be
        // counted as the system's latency. At low rates, sleep until ~1.5 ms before the
        // scheduled time and then yield to the event loop (the relay in this process keeps
        // running) until it comes; at higher rates the ~1 ms spin per interval would cost a core.
        const precise = interval >= PRECISE_START_MIN_INTERVAL_MS;
        if (precise && wait < PRECISE_START_SPIN_MS) await new Promise((resolve) => setImmediate(resolve));
        else {
          const sleepMs = precise ? Math.floor(wait - PRECISE_START_SPIN_MS) : Math.max(1, Math.floor(wait));
          await new Promise((resolve) => setTimeout(resolve, sleepMs));
        }
      }
      await Promise.all(inFlight);
    } else {
      const deadline = start + (config.seconds ?? 10) * 1000;
      let next = 0;
      const loop = async () => {
        while (nowMs() < deadline) {
          const seq = offset + ++next;
          const t0 = nowMs();
          try {
            await transaction(seq, 0);
            latency.record(nowMs() - t0);
            done++;
          } catch (error) {
            errors++;
            lastError = String(error).slice(0, 300);
          }
        }
      };
      await Promise.all(Array.from({ length: config.poolSize ?? 10 }, loop));
    }
    const end = nowMs();
    if (config.mode !== 'open-loop') all = done;
    ctx.send({ type: 'done', start, end, done, all, errors, lastError, commit: latency.summary() });
  }
  await ctx.channel.next('stop', 3_600_000);
  await bus.stop();
  await setup.close();
}
