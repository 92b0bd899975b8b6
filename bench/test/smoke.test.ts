// Keeps the runner from rotting without starting any engine: the in-process workload through the
// same interface the runner uses, the latency recorder, and the table renderer.
import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from '../src/histogram.ts';
import type { MachineInfo } from '../src/machine.ts';
import { WorkerGroup } from '../src/proc.ts';
import { renderTable } from '../src/report.ts';
import { engines } from '../src/services.ts';
import type { WorkloadContext } from '../src/workload.ts';
import { WORKLOADS } from '../src/workloads/index.ts';

describe('bench runner smoke', () => {
  it('runs the in-process workload and counts every event exactly once', async () => {
    const workload = WORKLOADS.find((w) => w.id === 'memory')!;
    expect(workload.services).toEqual([]);
    const ctx: WorkloadContext = {
      quick: true,
      engines: engines(),
      dbUrl: 'postgres://unused',
      runId: 'smoke',
      results: {},
      cpuProf: undefined,
      drainCount: 2_000,
      workers: new WorkerGroup(),
      log: () => undefined,
    };
    const result = await workload.run(ctx);
    expect(result.events).toBe(2_000);
    expect(result.duplicates).toBe(0);
    expect(result.eventsPerSec).toBeGreaterThan(0);
  });

  it('has unique workload ids, each bounded in time', () => {
    const ids = WORKLOADS.map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [
      'raw-rabbit',
      'raw-pg',
      'drain-rabbit',
      'e2e-rabbit',
      'drain-kafka',
      'raw-kafka',
      'peer',
      'relays-4',
      'idle',
      'backlog-1m',
    ]) {
      expect(ids).toContain(id);
    }
    for (const w of WORKLOADS) expect(w.timeoutMs(true)).toBeLessThanOrEqual(w.timeoutMs(false));
    expect(WORKLOADS.find((w) => w.id === 'backlog-1m')!.fullOnly).toBe(true);
  });

  it('records exact nearest-rank percentiles', () => {
    const recorder = new LatencyRecorder();
    for (let i = 100; i >= 1; i--) recorder.record(i);
    expect(recorder.count).toBe(100);
    expect(recorder.percentile(50)).toBe(50);
    expect(recorder.percentile(99)).toBe(99);
    expect(recorder.max).toBe(100);
    expect(recorder.percentile(0)).toBe(1);
    recorder.record(0.5);
    expect(recorder.percentile(0)).toBe(0.5);
    expect(new LatencyRecorder().percentile(50)).toBeNaN();
    expect(() => recorder.record(Number.NaN)).toThrow(RangeError);
  });

  it('renders targets as met or missed', () => {
    const machine: MachineInfo = {
      cpuModel: 'cpu',
      cores: 2,
      memoryGb: 24,
      kernel: 'k',
      node: 'v24',
      loadAverageAtStart: [1, 1, 1],
      date: '2026-01-01T00:00:00Z',
    };
    const table = renderTable(machine, {
      'drain-rabbit': {
        eventsPerSec: 1234,
        ratio: 0.5,
        targets: [{ label: '≥ 0.6 × raw-rabbit (0.5)', met: false }],
      },
      idle: { queriesPerSec: 0.5, cpuPercent: 0.2, targets: [{ label: '≤ 1 query/s (0.5)', met: true }] },
    });
    expect(table).toContain('1,234 ev/s');
    expect(table).toContain('✗ drain-rabbit: ≥ 0.6 × raw-rabbit (0.5)');
    expect(table).toContain('✓ idle: ≤ 1 query/s (0.5)');
  });
});
