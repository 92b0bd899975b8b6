import type { WorkerGroup } from './proc.ts';
import type { Engines } from './services.ts';

/** A target of the issue and whether this run met it. */
export interface Target {
  label: string;
  met: boolean;
}

/** What a workload reports (written under `workloads.<id>` in results/latest.json). */
export interface WorkloadResult {
  eventsPerSec?: number;
  ratio?: number;
  p50Ms?: number;
  p99Ms?: number;
  maxMs?: number;
  rssMb?: number;
  targets?: Target[];
  notes?: string[];
  [key: string]: unknown;
}

export interface WorkloadContext {
  readonly quick: boolean;
  readonly engines: Engines;
  /** Connection string of the bench database. */
  readonly dbUrl: string;
  /** Unique per run: exchange, queue, topic and event names carry it. */
  readonly runId: string;
  /** Results of the workloads that ran before in this run (for ratios). */
  readonly results: Readonly<Record<string, WorkloadResult>>;
  /** Directory for --cpu-prof profiles of the worker processes, when profiling. */
  readonly cpuProf: string | undefined;
  /** Events of the drain workloads (100k, quick 20k) unless a workload says otherwise. */
  readonly drainCount: number;
  log(message: string): void;
  /** Child processes of this workload; all are stopped when it ends. */
  readonly workers: WorkerGroup;
}

export interface Workload {
  readonly id: string;
  readonly title: string;
  /** Engines it needs (names of tooling/services/up.sh). */
  readonly services: readonly string[];
  /** Skipped by --quick. */
  readonly fullOnly?: boolean;
  /** Wall-clock bound of the workload (the runner aborts it past this). */
  readonly timeoutMs: (quick: boolean) => number;
  run(ctx: WorkloadContext): Promise<WorkloadResult>;
}

export function rate(count: number, ms: number): number {
  return ms > 0 ? Math.round((count / ms) * 1000) : 0;
}

export function ratioOf(value: number | undefined, ceiling: number | undefined): number | undefined {
  if (!value || !ceiling) return undefined;
  return Math.round((value / ceiling) * 100) / 100;
}

/** Waits for a worker's message while watching that the others are still alive. */
export async function progressUntil<T>(
  work: Promise<T>,
  options: { timeoutMs: number; what: string },
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${options.what} did not finish within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
