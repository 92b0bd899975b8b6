import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Connection settings of the local engines (tooling/services/up.sh writes them to env.sh). */
export interface Engines {
  pgUrl: string;
  rabbitUrl: string;
  kafkaBrokers: string[];
  redisUrls: string[];
}

/** Starts the engines with the project's own script (idempotent: running ones are left alone). */
export function startServices(names: readonly string[]): void {
  if (names.length === 0) return;
  const script = join(REPO_ROOT, 'tooling', 'services', 'up.sh');
  process.stderr.write(`› bash tooling/services/up.sh ${names.join(' ')}\n`);
  const result = spawnSync('bash', [script, ...names], {
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: REPO_ROOT,
  });
  if (result.status !== 0) {
    throw new Error(
      `tooling/services/up.sh ${names.join(' ')} failed (exit ${result.status}); see the messages above`,
    );
  }
}

/** Reads env.sh (values already in the environment win), then applies the documented defaults. */
export function engines(): Engines {
  const dir = process.env.HERALD_SERVICES_DIR ?? '/var/tmp/herald-services';
  const file = join(dir, 'env.sh');
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^export\s+([A-Z0-9_]+)=["']?(.*?)["']?$/.exec(line.trim());
      if (match) fromFile[match[1]!] = match[2]!;
    }
  }
  const get = (name: string, fallback: string) => process.env[name] ?? fromFile[name] ?? fallback;
  return {
    pgUrl: get('HERALD_PG_URL', 'postgres://herald:herald@127.0.0.1:5432/herald'),
    rabbitUrl: get('HERALD_RABBITMQ_URL', 'amqp://herald:herald@127.0.0.1:5672'),
    kafkaBrokers: get('HERALD_KAFKA_BROKERS', '127.0.0.1:9092').split(',').filter(Boolean),
    redisUrls: get('HERALD_REDIS_URLS', 'redis://127.0.0.1:6379')
      .split(',')
      .filter(Boolean)
      .map((u) => (u.startsWith('redis://') ? u : `redis://${u}`)),
  };
}
