// pg alone: one business transaction (UPDATE + INSERT) per event, closed loop, `concurrency`
// transactions at a time on a pool of the same size Herald's producers use.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ACCOUNTS } from '../db.ts';
import { LatencyRecorder, nowMs } from '../histogram.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  dbUrl: string;
  count: number;
  poolSize: number;
  seconds: number;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const pool = new pg.Pool({ connectionString: config.dbUrl, max: config.poolSize });
  await Promise.all(Array.from({ length: config.poolSize }, () => pool.query('SELECT 1')));
  ctx.send({ type: 'ready' });
  await ctx.channel.next('go', 120_000);
  const latency = new LatencyRecorder();
  const start = nowMs();
  const deadline = start + config.seconds * 1000;
  let next = 0;
  const workerLoop = async () => {
    while (next < config.count && nowMs() < deadline) {
      const seq = next++;
      const t0 = nowMs();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('UPDATE bench_accounts SET balance = balance + $1 WHERE id = $2', [
          1,
          (seq % ACCOUNTS) + 1,
        ]);
        await client.query('INSERT INTO bench_orders (id, account_id, amount) VALUES ($1, $2, $3)', [
          randomUUID(),
          (seq % ACCOUNTS) + 1,
          1,
        ]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      latency.record(nowMs() - t0);
    }
  };
  await Promise.all(Array.from({ length: config.poolSize }, workerLoop));
  const end = nowMs();
  ctx.send({ type: 'done', start, end, count: latency.count, latency: latency.summary() });
  await pool.end();
}
