// The worker processes run compiled JavaScript, as a deployed relay or consumer does. Run from the
// TypeScript sources, each process would also load Node's type stripper (a WebAssembly module that
// stays resident): 10–35 MB more RSS per process and its CPU at start, counted as Herald's.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Compiles `src` and `generated` into `.build` (no type check: `pnpm typecheck` does that); returns the worker's entry. */
export function compileWorkers(): string {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(BENCH_ROOT, 'tsconfig.build.json')], {
    cwd: BENCH_ROOT,
    stdio: 'inherit',
  });
  return join(BENCH_ROOT, '.build', 'src', 'worker.js');
}
