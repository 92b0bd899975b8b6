// The benchmark runner: `pnpm bench [--quick] [--only id,id] [--no-services] [--cpu-prof] [--out file]`.
// Starts the engines with tooling/services/up.sh, runs each workload (child processes, bounded
// in time and count), prints a table and writes results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileWorkers } from './compiled-workers.ts';
import { benchUrl, prepareDatabase } from './db.ts';
import { migrateHerald } from './herald.ts';
import { machineInfo } from './machine.ts';
import { useWorkerEntry, WorkerGroup } from './proc.ts';
import { renderTable } from './report.ts';
import { engines as readEngines, startServices } from './services.ts';
import type { WorkloadResult } from './workload.ts';
import { WORKLOADS } from './workloads/index.ts';

const BENCH_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  quick: boolean;
  only: string[] | undefined;
  services: boolean;
  cpuProf: boolean;
  out: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, only: undefined, services: true, cpuProf: false, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    else if (arg === '--quick') args.quick = true;
    else if (arg === '--no-services') args.services = false;
    else if (arg === '--cpu-prof') args.cpuProf = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      args.only = (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else if (arg === '--out' || arg.startsWith('--out=')) {
      args.out = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
    } else if (arg === '--help' || arg === '-h') {
      console.log(
        'usage: pnpm bench [--quick] [--only id,id] [--no-services] [--cpu-prof] [--out file]\n' +
          `workloads: ${WORKLOADS.map((w) => w.id + (w.fullOnly ? ' (full run only)' : '')).join(', ')}`,
      );
      process.exit(0);
    } else {
      throw new Error(`unknown argument "${arg}" (see --help)`);
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const known = new Set(WORKLOADS.map((w) => w.id));
  for (const id of args.only ?? [])
    if (!known.has(id)) throw new Error(`unknown workload "${id}"; known: ${[...known].join(', ')}`);
  const selected = WORKLOADS.filter((w) =>
    args.only ? args.only.includes(w.id) : !(args.quick && w.fullOnly),
  );
  const services = [...new Set(selected.flatMap((w) => w.services))];
  const ordered = ['postgres', 'rabbitmq', 'kafka', 'redis'].filter((s) => services.includes(s));
  if (args.services) startServices(ordered);
  const engines = readEngines();
  const dbUrl = benchUrl(engines.pgUrl);
  if (services.includes('postgres')) {
    await prepareDatabase(engines.pgUrl);
    await migrateHerald(dbUrl);
  }
  // BENCH_TS_WORKERS=1: workers run from the TypeScript sources (no compile step; more RSS, see compiled-workers.ts).
  if (process.env.BENCH_TS_WORKERS !== '1') useWorkerEntry(compileWorkers());
  const machine = await machineInfo(engines, new Set(services));
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const cpuProf = args.cpuProf ? resolve(BENCH_ROOT, 'results', `profiles-${runId}`) : undefined;
  if (cpuProf) mkdirSync(cpuProf, { recursive: true });
  const results: Record<string, WorkloadResult> = {};
  const started = Date.now();
  console.error(`› ${args.quick ? 'quick' : 'full'} run ${runId}: ${selected.map((w) => w.id).join(', ')}`);
  for (const workload of selected) {
    const workers = new WorkerGroup(cpuProf);
    const t0 = Date.now();
    console.error(`› ${workload.id}: ${workload.title}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      const limit = workload.timeoutMs(args.quick);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${limit / 1000} s`)), limit);
      });
      results[workload.id] = await Promise.race([
        workload.run({
          quick: args.quick,
          engines,
          dbUrl,
          runId,
          results,
          cpuProf,
          drainCount: args.quick ? 20_000 : 100_000,
          workers,
          log: (message) => console.error(`  ${workload.id}: ${message}`),
        }),
        timeout,
      ]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`  ✖ ${workload.id} failed: ${message}`);
      results[workload.id] = { error: message };
    } finally {
      clearTimeout(timer);
      await workers.stopAll();
    }
    results[workload.id]!.loadAverage = loadavg().map((l) => Math.round(l * 100) / 100);
    results[workload.id]!.wallSeconds = Math.round((Date.now() - t0) / 100) / 10;
    console.error(`  done in ${results[workload.id]!.wallSeconds} s`);
  }
  machine.loadAverageAtEnd = loadavg().map((l) => Math.round(l * 100) / 100);
  const output = {
    machine,
    mode: args.quick ? 'quick' : 'full',
    totalSeconds: Math.round((Date.now() - started) / 1000),
    workloads: results,
  };
  const out = resolve(args.out ?? join(BENCH_ROOT, 'results', args.only ? 'partial.json' : 'latest.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(output, null, 2)}\n`);
  console.log(renderTable(machine, results));
  console.error(`\n› results written to ${out} (${output.totalSeconds} s)`);
  if (Object.values(results).some((r) => r.error)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
