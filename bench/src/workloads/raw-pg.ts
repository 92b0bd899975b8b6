import { dbStats, POOL_SIZE, perEvent, resetTables, statsDelta, withClient } from '../db.ts';
import { rate, type Workload } from '../workload.ts';

/** pg alone: business transactions per second, the producer ceiling. */
export const rawPg: Workload = {
  id: 'raw-pg',
  title: `pg: BEGIN; UPDATE; INSERT; COMMIT per event, pool ${POOL_SIZE}, closed loop`,
  services: ['postgres'],
  timeoutMs: (quick) => (quick ? 60_000 : 120_000),
  async run(ctx) {
    await resetTables(ctx.dbUrl);
    const seconds = ctx.quick ? 8 : 20;
    const worker = ctx.workers.spawn('raw-pg', 'raw-pg', {
      dbUrl: ctx.dbUrl,
      count: ctx.quick ? 50_000 : 200_000,
      poolSize: POOL_SIZE,
      seconds,
    });
    await worker.next('ready', 30_000);
    const before = await withClient(ctx.dbUrl, dbStats);
    worker.send({ type: 'go' });
    const done = await worker.next('done', this.timeoutMs(ctx.quick));
    const after = await withClient(ctx.dbUrl, dbStats);
    return {
      txPerSec: rate(done.count, done.end - done.start),
      eventsPerSec: rate(done.count, done.end - done.start),
      events: done.count,
      p50Ms: done.latency.p50Ms,
      p99Ms: done.latency.p99Ms,
      maxMs: done.latency.maxMs,
      ...perEvent(statsDelta(before, after), done.count),
      notes: [`${POOL_SIZE} transactions in flight for up to ${seconds} s; latency is per transaction`],
    };
  },
};
