import { randomUUID } from 'node:crypto';
import { sleep } from '@herald/core';
import { Redis } from 'ioredis';

const DEFAULT_URLS = ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6380', 'redis://127.0.0.1:6381'];

/**
 * The Redis nodes the tests use: `HERALD_REDIS_URLS` (comma-separated), or
 * the three local ports `tooling/services/redis.sh` starts. When the variable
 * lists fewer nodes than a test needs, the local defaults are used.
 */
export function redisUrls(count: number): string[] {
  const fromEnv = (process.env.HERALD_REDIS_URLS ?? '')
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  const urls = fromEnv.length >= count ? fromEnv : DEFAULT_URLS;
  if (urls.length < count) throw new Error(`Tests need ${count} Redis nodes; only ${urls.length} configured`);
  return urls.slice(0, count);
}

/** Fails loudly (never skips) when a node is not answering, naming the script that starts it. */
export async function requireRedis(urls: readonly string[]): Promise<void> {
  for (const url of urls) {
    const probe = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
    } catch (error) {
      throw new Error(
        `Redis at ${url} is not reachable (${(error as Error).message}). ` +
          `Start the nodes with: REDIS_NODES=3 bash tooling/services/up.sh redis ` +
          '(or REDIS_NODES=3 bash tooling/services/redis.sh) and source /var/tmp/herald-services/env.sh.',
      );
    } finally {
      probe.disconnect();
    }
  }
}

/** Plain clients for looking at (and tampering with) what the lock stored. */
export function rawClients(urls: readonly string[]): Redis[] {
  return urls.map((url) => {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    return client;
  });
}

/** A key no other test (or earlier run) uses. */
export function freshKey(label: string): string {
  return `test:${label}:${randomUUID()}`;
}

/** An address where nothing listens: a Redis node that is down. */
export const DEAD_NODE_URL = 'redis://127.0.0.1:6399';

/** Core's `sleep`, re-exported for the tests. */
export { sleep };
