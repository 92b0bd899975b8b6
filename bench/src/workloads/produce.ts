import { dbStats, POOL_SIZE, resetTables, statsDelta, withClient } from '../db.ts';
import { rate, ratioOf, type Workload, type WorkloadContext } from '../workload.ts';

type Stats = Awaited<ReturnType<typeof dbStats>>;

/** A closed-loop producer process: `publish` false is the same Prisma transaction without the outbox. */
function producer(ctx: WorkloadContext, publish: boolean, seconds: number, rounds: number) {
  return ctx.workers.spawn(publish ? 'produce' : 'produce-prisma-only', 'herald-producer', {
    dbUrl: ctx.dbUrl,
    service: 'bench-producer',
    eventName: `bench.${ctx.runId}.produce`,
    transport: { kind: 'memory' },
    mode: 'closed-loop',
    relay: false,
    publish,
    seconds,
    rounds,
    poolSize: POOL_SIZE,
  });
}

/** Sums of the rounds of one variant. */
class Rounds {
  done = 0;
  ms = 0;
  errors = 0;
  commitP50: number[] = [];
  commitP99: number[] = [];
  stats: Array<[Stats, Stats]> = [];

  add(done: {
    done: number;
    start: number;
    end: number;
    errors: number;
    commit: { p50Ms: number; p99Ms: number };
  }) {
    this.done += done.done;
    this.ms += done.end - done.start;
    this.errors += done.errors;
    this.commitP50.push(done.commit.p50Ms);
    this.commitP99.push(done.commit.p99Ms);
  }

  result() {
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    let calls = 0;
    let walBytes = 0;
    for (const [before, after] of this.stats) {
      const delta = statsDelta(before, after);
      calls += delta.calls;
      walBytes += delta.walBytes;
    }
    return {
      txPerSec: rate(this.done, this.ms),
      events: this.done,
      errors: this.errors,
      p50Ms: median(this.commitP50),
      p99Ms: median(this.commitP99),
      statementsPerEvent: Math.round((calls / Math.max(1, this.done)) * 1000) / 1000,
      walBytesPerEvent: Math.round(walBytes / Math.max(1, this.done)),
    };
  }
}

/**
 * Herald producers, closed loop: the business transaction of raw-pg plus bus.publish(event, { tx })
 * through Prisma, beside the variant `prisma-only` (the same Prisma transaction without publish).
 */
export const produce: Workload = {
  id: 'produce',
  title: `Prisma $transaction: UPDATE; INSERT; bus.publish(event, { tx }), pool ${POOL_SIZE}, closed loop (and prisma-only)`,
  services: ['postgres'],
  timeoutMs: (quick) => (quick ? 90_000 : 180_000),
  async run(ctx) {
    // Short alternating rounds: on a shared machine, load shifts between two long runs would decide the ratio.
    const rounds = ctx.quick ? 4 : 8;
    const seconds = ctx.quick ? 2 : 2.5;
    await resetTables(ctx.dbUrl);
    const workers = [producer(ctx, false, seconds, rounds), producer(ctx, true, seconds, rounds)] as const;
    for (const worker of workers) await worker.next('ready', 30_000);
    const sums = [new Rounds(), new Rounds()] as const;
    for (let round = 0; round < rounds; round++) {
      for (const index of round % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) {
        const before = await withClient(ctx.dbUrl, dbStats);
        workers[index].send({ type: 'go' });
        const done = await workers[index].next('done', seconds * 1000 + 60_000);
        sums[index].add(done as unknown as Parameters<Rounds['add']>[0]);
        sums[index].stats.push([before, await withClient(ctx.dbUrl, dbStats)]);
      }
    }
    await Promise.all(workers.map((worker) => worker.stop()));
    const prismaOnly = sums[0].result();
    const herald = sums[1].result();
    const ratio = ratioOf(herald.txPerSec, ctx.results['raw-pg']?.txPerSec as number | undefined);
    const ratioToPrismaOnly = ratioOf(herald.txPerSec, prismaOnly.txPerSec);
    return {
      ...herald,
      eventsPerSec: herald.txPerSec,
      ratio,
      ratioToPrismaOnly,
      variants: { 'prisma-only': prismaOnly },
      targets:
        ratioToPrismaOnly === undefined
          ? []
          : [
              {
                label: `≥ 0.85 × produce/prisma-only (${ratioToPrismaOnly})`,
                met: ratioToPrismaOnly >= 0.85,
              },
            ],
      notes: [
        `${POOL_SIZE} transactions in flight, ${rounds} alternating rounds of ${seconds} s per variant (ratio: vs raw-pg, same pool size; ratioToPrismaOnly: vs the same Prisma transaction without bus.publish); relay off`,
      ],
    };
  },
};
