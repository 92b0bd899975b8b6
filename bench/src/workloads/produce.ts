import { dbStats, POOL_SIZE, perEvent, resetTables, statsDelta, withClient } from '../db.ts';
import { rate, ratioOf, type Workload } from '../workload.ts';

/** Herald producers, closed loop: the business transaction of raw-pg plus bus.publish(event, { tx }) through Prisma. */
export const produce: Workload = {
  id: 'produce',
  title: `Prisma $transaction: UPDATE; INSERT; bus.publish(event, { tx }), pool ${POOL_SIZE}, closed loop`,
  services: ['postgres'],
  timeoutMs: (quick) => (quick ? 60_000 : 120_000),
  async run(ctx) {
    await resetTables(ctx.dbUrl);
    const seconds = ctx.quick ? 8 : 20;
    const worker = ctx.workers.spawn('produce', 'herald-producer', {
      dbUrl: ctx.dbUrl,
      service: 'bench-producer',
      eventName: `bench.${ctx.runId}.produce`,
      transport: { kind: 'memory' },
      mode: 'closed-loop',
      relay: false,
      seconds,
      poolSize: POOL_SIZE,
    });
    await worker.next('ready', 30_000);
    const before = await withClient(ctx.dbUrl, dbStats);
    worker.send({ type: 'go' });
    const done = await worker.next('done', this.timeoutMs(ctx.quick));
    const after = await withClient(ctx.dbUrl, dbStats);
    const txPerSec = rate(done.done, done.end - done.start);
    const ratio = ratioOf(txPerSec, ctx.results['raw-pg']?.txPerSec as number | undefined);
    return {
      txPerSec,
      eventsPerSec: txPerSec,
      ratio,
      events: done.done,
      errors: done.errors,
      p50Ms: done.commit.p50Ms,
      p99Ms: done.commit.p99Ms,
      maxMs: done.commit.maxMs,
      ...perEvent(statsDelta(before, after), done.done),
      notes: [
        `${POOL_SIZE} transactions in flight for ${seconds} s (ratio: vs raw-pg, same pool size); relay off`,
      ],
    };
  },
};
