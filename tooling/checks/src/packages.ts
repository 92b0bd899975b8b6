import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './repo.js';

/** A package of `packages/` that is published (not private). */
export interface PublicPackage {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
}

/** Every published package of the workspace. */
export function publicPackages(): PublicPackage[] {
  const base = join(repoRoot, 'packages');
  return readdirSync(base)
    .map((folder) => {
      const dir = join(base, folder);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return {
        name: manifest.name as string,
        version: manifest.version as string,
        dir,
        private: manifest.private,
      };
    })
    .filter((pkg) => !pkg.private)
    .map(({ name, version, dir }) => ({ name, version, dir }));
}

/** Packages of `apps/` by folder name (private: packed for the tests, never published). */
export function appPackages(folders: readonly string[]): PublicPackage[] {
  return folders.map((folder) => {
    const dir = join(repoRoot, 'apps', folder);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return { name: manifest.name as string, version: manifest.version as string, dir };
  });
}

/** What a finished command printed, and how it ended. */
export interface CommandResult {
  readonly code: number;
  readonly output: string;
}

/** Runs a command without a shell and collects stdout and stderr together. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Say why a killed command ended with no output of its own.
      if (timedOut) output += `\n(${command} ${args.join(' ')} killed after ${timeoutMs / 1000} s)`;
      resolve({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function eachLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
