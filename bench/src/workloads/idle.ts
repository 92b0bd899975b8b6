import { readFileSync } from 'node:fs';
import { deleteRabbitTopology } from '../brokers.ts';
import { BENCH_DATABASE, dbStats, resetTables, statsDelta, withClient } from '../db.ts';
import type { Workload } from '../workload.ts';

/** CPU seconds (user + system) of a process from /proc; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** A bus (relay + consumer, RabbitMQ, PostgreSQL event log with LISTEN) with nothing to do. */
export const idle: Workload = {
  id: 'idle',
  title: 'bus running with nothing to do: statements/s on PostgreSQL, CPU %',
  services: ['postgres', 'rabbitmq'],
  timeoutMs: () => 90_000,
  async run(ctx) {
    const seconds = ctx.quick ? 20 : 30;
    const exchange = `bench.${ctx.runId}.idle`;
    await resetTables(ctx.dbUrl);
    try {
      const bus = ctx.workers.spawn('idle-bus', 'herald-bus', {
        dbUrl: ctx.dbUrl,
        service: 'bench-idle',
        eventName: `bench.${ctx.runId}.idle`,
        transport: { kind: 'rabbitmq', url: ctx.engines.rabbitUrl, exchange },
        relay: true,
        handle: true,
        startNow: true,
      });
      await bus.next('started', 60_000);
      // Let start-up work (first claims, consumer setup) finish before measuring.
      await new Promise((r) => setTimeout(r, 3_000));
      const backends = await withClient(ctx.dbUrl, async (db) =>
        (
          await db.query<{ pid: number }>(
            'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [BENCH_DATABASE],
          )
        ).rows.map((r) => r.pid),
      );
      const before = await withClient(ctx.dbUrl, dbStats);
      const busCpu0 = cpuSeconds(bus.pid);
      const pgCpu0 = backends.reduce((s, pid) => s + cpuSeconds(pid), 0);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const wall = (Date.now() - t0) / 1000;
      const busCpu = cpuSeconds(bus.pid) - busCpu0;
      const pgCpu = backends.reduce((s, pid) => s + cpuSeconds(pid), 0) - pgCpu0;
      const after = await withClient(ctx.dbUrl, dbStats);
      const delta = statsDelta(before, after);
      const queriesPerSec = Math.round((delta.calls / wall) * 100) / 100;
      const cpuPercent = Math.round((busCpu / wall) * 100 * 100) / 100;
      return {
        queriesPerSec,
        cpuPercent,
        postgresBackendCpuPercent: Math.round((pgCpu / wall) * 100 * 100) / 100,
        seconds: Math.round(wall),
        statements: delta.statements.map((s) => ({
          perSec: Math.round((s.calls / wall) * 100) / 100,
          query: s.query.replace(/\s+/g, ' ').slice(0, 120),
        })),
        targets: [
          { label: `≤ 1 query/s (${queriesPerSec})`, met: queriesPerSec <= 1 },
          { label: `< 1% CPU (${cpuPercent}%)`, met: cpuPercent < 1 },
        ],
        notes: [
          `one process relaying and consuming, defaults (pollingInterval 2 s); CPU from /proc over ${seconds} s; statements from pg_stat_statements of ${BENCH_DATABASE}`,
        ],
      };
    } finally {
      await deleteRabbitTopology(ctx.engines.rabbitUrl, exchange, ['bench-idle']).catch(() => undefined);
    }
  },
};
