import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Reads a `NAME=value` file (comments and blank lines skipped), as `set -a; . file` would. */
export function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/**
 * The code lines of the root README's "Using it" example (the first ```ts block), each
 * trimmed, without trailing `// …` comments, blank lines dropped.
 */
export function readmeExampleLines(): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /## Using it\s+```ts\n([\s\S]*?)\n```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```ts block under "## Using it"');
  return block
    .split('\n')
    .map((line) =>
      line
        .replace(/\s+\/\/ .*$/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter((line) => line !== '');
}
