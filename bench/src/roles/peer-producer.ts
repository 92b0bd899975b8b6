// The peer's producer side: business transactions on pg (UPDATE + INSERT) that store one outbox
// message each with the peer's initializeMessageStorage, in the same transaction.
//   fill: `count` messages, 1000 per transaction.  open-loop: `rate`/s for `seconds` (+ warm-up).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { initializeMessageStorage } from 'pg-transactional-outbox';
import { ACCOUNTS } from '../db.ts';
import { LatencyRecorder, nowMs } from '../histogram.ts';
import { benchPayload } from '../payload.ts';
import { listenerConfig, peerLogger, peerMessage } from '../peer.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  dbUrl: string;
  mode: 'fill' | 'open-loop';
  poolSize: number;
  count?: number;
  rate?: number;
  seconds?: number;
  warmupSeconds?: number;
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const pool = new pg.Pool({ connectionString: config.dbUrl, max: config.poolSize });
  const store = initializeMessageStorage(
    listenerConfig('outbox', config.dbUrl, { prefetch: 1 }, 1),
    peerLogger(),
  );
  const pad = benchPayload(0).pad;
  const inTransaction = async (work: (client: pg.PoolClient) => Promise<void>) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  await pool.query('SELECT 1');
  ctx.send({ type: 'ready' });
  await ctx.channel.next('go', 600_000);
  const start = nowMs();
  const latency = new LatencyRecorder();
  let done = 0;
  let all = 0;
  let errors = 0;
  let lastError = '';
  if (config.mode === 'fill') {
    const count = config.count ?? 0;
    for (let from = 0; from < count; from += 1000) {
      await inTransaction(async (client) => {
        for (let i = from; i < Math.min(count, from + 1000); i++)
          await store(peerMessage(i + 1, 0, pad), client as any);
      });
    }
    done = all = count;
  } else {
    const rate = config.rate ?? 100;
    const warmup = Math.round(rate * (config.warmupSeconds ?? 0));
    const total = warmup + Math.round(rate * (config.seconds ?? 10));
    const interval = 1000 / rate;
    const inFlight = new Set<Promise<void>>();
    let issued = 0;
    while (issued < total) {
      const now = nowMs();
      while (issued < total && start + issued * interval <= now) {
        const intended = start + issued * interval;
        const measured = issued >= warmup;
        const seq = ++issued;
        const p = inTransaction(async (client) => {
          const account = (seq % ACCOUNTS) + 1;
          await client.query('UPDATE bench_accounts SET balance = balance + $1 WHERE id = $2', [1, account]);
          await client.query('INSERT INTO bench_orders (id, account_id, amount) VALUES ($1, $2, $3)', [
            randomUUID(),
            account,
            1,
          ]);
          await store(peerMessage(seq, measured ? intended : 0, pad), client as any);
        })
          .then(
            () => {
              all++;
              if (!measured) return;
              latency.record(nowMs() - intended);
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
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(wait))));
    }
    await Promise.all(inFlight);
  }
  ctx.send({ type: 'done', start, end: nowMs(), done, all, errors, lastError, commit: latency.summary() });
  await ctx.channel.next('stop', 3_600_000);
  await pool.end();
}
