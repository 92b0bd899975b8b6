import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** What one `node dist/main.js …` run printed. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly lines: string[];
  /** The parsed closing line, if there was one. */
  readonly ledger:
    | { ok: boolean; published: number; handled: number; duplicates: number; lost: number }
    | undefined;
}

/**
 * Runs the demo's CLI as a user would (what `npm run demo -- …` ends up running), killing it
 * after `timeoutMs`. dist/ is built by the package's `test` script before Vitest starts.
 */
export function runCli(
  args: string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliRun> {
  if (!existsSync(main))
    throw new Error('apps/demo/dist/main.js is missing: run `pnpm --filter @herald/demo build`');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter(Boolean);
      const match = /^demo (ok|FAILED): published=(\d+) handled=(\d+) duplicates=(\d+) lost=(\d+)$/.exec(
        lines.at(-1) ?? '',
      );
      const ledger = match
        ? {
            ok: match[1] === 'ok',
            published: Number(match[2]),
            handled: Number(match[3]),
            duplicates: Number(match[4]),
            lost: Number(match[5]),
          }
        : undefined;
      resolve({ code, stdout, stderr, lines, ledger });
    });
  });
}
