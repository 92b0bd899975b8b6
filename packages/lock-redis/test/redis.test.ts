import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ConfigurationError,
  type DistributedLock,
  LeaseKeeper,
  type LockLease,
  silentLogger,
} from '@herald/core';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueFencingToken } from '../src/fencing.js';
import { RedisLockError, redisLock } from '../src/index.js';
import { DEAD_NODE_URL, freshKey, rawClients, redisUrls, requireRedis, sleep } from './helpers.js';

const urls = redisUrls(3);
const PREFIX = 'redis-test:';
let raw: Redis[] = [];
const opened: DistributedLock[] = [];

/** A lock closed after the test. */
function lockOn(nodeUrls: readonly string[], extra: Parameters<typeof redisLock>[0] = {}): DistributedLock {
  const lock = redisLock({ urls: nodeUrls, keyPrefix: PREFIX, ...extra });
  opened.push(lock);
  return lock;
}

function held(lease: LockLease | null): LockLease {
  expect(lease).not.toBeNull();
  return lease as LockLease;
}

/** What another process would do: put its own value under the key on one node. */
async function occupy(node: Redis, key: string, ttlMs = 10_000): Promise<void> {
  await node.set(`${PREFIX}{${key}}`, 'someone-else', 'PX', ttlMs);
}

beforeAll(async () => {
  await requireRedis(urls);
  raw = rawClients(urls);
});

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((lock) => lock.close?.()));
});

afterAll(async () => {
  await Promise.allSettled(raw.map((client) => client.quit()));
});

describe('redisLock() options', () => {
  it('needs exactly one of redis, clients or urls, and independent clients', () => {
    const client = new Redis(urls[0]!, { lazyConnect: true });
    try {
      expect(() => redisLock({})).toThrow(ConfigurationError);
      expect(() => redisLock({ redis: client, urls })).toThrow(ConfigurationError);
      expect(() => redisLock({ clients: [] })).toThrow(ConfigurationError);
      expect(() => redisLock({ clients: [client, client] })).toThrow(/same client twice/);
      expect(() => redisLock({ redis: client, driftFactor: 0.7 })).toThrow(ConfigurationError);
      expect(() => redisLock({ redis: client, operationTimeoutMs: 0 })).toThrow(ConfigurationError);
    } finally {
      client.disconnect();
    }
  });

  it('close() quits the clients it opened but never the caller’s', async () => {
    const mine = new Redis(urls[0]!);
    const borrowed = redisLock({ redis: mine, keyPrefix: PREFIX });
    const owning = redisLock({ urls: [urls[0]!], keyPrefix: PREFIX });
    held(await borrowed.acquire(freshKey('borrowed'), 5_000));
    held(await owning.acquire(freshKey('owning'), 5_000));
    await borrowed.close?.();
    await owning.close?.();
    expect(await mine.ping()).toBe('PONG');
    await mine.quit();
    await expect(owning.acquire(freshKey('closed'), 5_000)).rejects.toBeInstanceOf(RedisLockError);
  });

  it('rejects a TTL that is not a positive number with a typed error', async () => {
    const lock = lockOn([urls[0]!]);
    await expect(lock.acquire(freshKey('ttl'), 0)).rejects.toBeInstanceOf(RedisLockError);
    await expect(lock.acquire(freshKey('ttl'), Number.NaN)).rejects.toBeInstanceOf(RedisLockError);
  });
});

describe('what the lock stores in Redis', () => {
  it('a random value with the TTL under the prefixed key, and the token in a fence key that outlives it', async () => {
    const lock = lockOn(urls);
    const key = freshKey('layout');
    const lease = held(await lock.acquire(key, 5_000));
    const lockKey = `${PREFIX}{${key}}`;
    const values = await Promise.all(raw.map((node) => node.get(lockKey)));
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toMatch(/^[0-9a-f]{32}$/);
    for (const node of raw) {
      const ttl = await node.pttl(lockKey);
      expect(ttl).toBeGreaterThan(4_000);
      expect(ttl).toBeLessThanOrEqual(5_000);
      expect(await node.get(`${lockKey}:fence`)).toBe(lease.fencingToken.toString());
    }
    await lease.release();
    for (const node of raw) {
      expect(await node.exists(lockKey)).toBe(0);
      expect(await node.pttl(`${lockKey}:fence`), 'the counter never expires').toBe(-1);
    }
  });

  it('extend() pushes the Redis expiry and expiresAt forward', async () => {
    const lock = lockOn(urls);
    const key = freshKey('extend');
    const lease = held(await lock.acquire(key, 1_000));
    const before = lease.expiresAt.getTime();
    expect(await lease.extend(8_000)).toBe(true);
    expect(lease.expiresAt.getTime()).toBeGreaterThan(before + 6_000);
    for (const node of raw) expect(await node.pttl(`${PREFIX}{${key}}`)).toBeGreaterThan(7_000);
  });
});

describe('Redlock across three independent nodes', () => {
  it('a majority decides: held elsewhere on one node still acquires, on two it does not', async () => {
    const lock = lockOn(urls);
    const minority = freshKey('minority');
    await occupy(raw[2]!, minority);
    const lease = held(await lock.acquire(minority, 5_000));
    await lease.release();
    expect(await raw[2]!.get(`${PREFIX}{${minority}}`), 'the other holder keeps its node').toBe(
      'someone-else',
    );

    const majority = freshKey('majority');
    await occupy(raw[0]!, majority);
    await occupy(raw[1]!, majority);
    expect(await lock.acquire(majority, 5_000)).toBeNull();
    expect(await raw[2]!.exists(`${PREFIX}{${majority}}`), 'the partial grant was rolled back').toBe(0);
  });

  it('fencing tokens keep increasing while the granting majority changes', async () => {
    // Each round another node is taken by someone else, so consecutive tokens
    // come from different majorities; node 2 also starts with a counter far
    // ahead of the others (as after many partial acquisitions there).
    const lock = lockOn(urls);
    const key = freshKey('majorities');
    await raw[2]!.set(`${PREFIX}{${key}}:fence`, (BigInt(Date.now()) * 1000n + 5_000_000_000n).toString());
    const tokens: bigint[] = [];
    for (let round = 0; round < 6; round++) {
      const blocked = raw[round % 3]!;
      await occupy(blocked, key, 60_000);
      const lease = held(await lock.acquire(key, 5_000));
      tokens.push(lease.fencingToken);
      await lease.release();
      await blocked.del(`${PREFIX}{${key}}`);
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
  });

  it('works with one node down, and fails with a typed error (not null) when a majority is down', async () => {
    const degraded = lockOn([urls[0]!, urls[1]!, DEAD_NODE_URL], { operationTimeoutMs: 500 });
    const key = freshKey('degraded');
    const lease = held(await degraded.acquire(key, 5_000));
    expect(await lease.extend(5_000)).toBe(true);
    expect(await lockOn(urls).acquire(key, 5_000)).toBeNull();
    await lease.release();

    const broken = lockOn([urls[0]!, DEAD_NODE_URL, DEAD_NODE_URL.replace('6399', '6398')], {
      operationTimeoutMs: 500,
    });
    const started = Date.now();
    await expect(broken.acquire(freshKey('broken'), 5_000)).rejects.toBeInstanceOf(RedisLockError);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a hung minority node does not slow acquisition; a hung single node fails within the timeout', async () => {
    const three = lockOn(urls, { operationTimeoutMs: 1_500 });
    const single = lockOn([urls[2]!], { operationTimeoutMs: 300 });
    const key = freshKey('hung');
    const victim = held(await single.acquire(freshKey('hung-single'), 5_000));
    // Warm up the connections so only the pause is measured.
    held(await three.acquire(freshKey('warm'), 1_000));

    await raw[2]!.call('CLIENT', 'PAUSE', '1200', 'ALL');
    try {
      let started = Date.now();
      const lease = held(await three.acquire(key, 5_000));
      expect(Date.now() - started).toBeLessThan(800);
      await lease.release();

      started = Date.now();
      await expect(victim.extend(5_000), 'an unanswered extension is an error').rejects.toBeInstanceOf(
        RedisLockError,
      );
      expect(Date.now() - started).toBeLessThan(800);
      started = Date.now();
      await expect(single.acquire(freshKey('hung-acquire'), 5_000)).rejects.toBeInstanceOf(RedisLockError);
      expect(Date.now() - started).toBeLessThan(800);
    } finally {
      await sleep(1_300); // let the pause end before the next test
    }
  });
});

describe('an extension that outlives the lease', () => {
  it('reports the lease lost when no answer comes before it ends', async () => {
    const lock = lockOn([urls[1]!], { operationTimeoutMs: 5_000 });
    const lease = held(await lock.acquire(freshKey('late-extend'), 500));
    await sleep(300);
    await raw[1]!.call('CLIENT', 'PAUSE', '1000', 'ALL');
    try {
      const started = Date.now();
      expect(await lease.extend(5_000)).toBe(false);
      // Bounded by what was left of the lease (~200 ms), not by the 5 s operation timeout.
      expect(Date.now() - started).toBeLessThan(600);
      expect(await lease.extend(5_000), 'lost stays lost').toBe(false);
    } finally {
      await sleep(1_100);
    }
  });
});

describe('fencing tokens', () => {
  it('are not issued to a holder whose key is no longer its own on a majority', async () => {
    const lock = lockOn(urls);
    const key = freshKey('stale-holder');
    const lease = held(await lock.acquire(key, 5_000));
    const lockKey = `${PREFIX}{${key}}`;
    const value = (await raw[0]!.get(lockKey))!;
    const clients = rawClients(urls);
    try {
      const request = {
        clients,
        lockKey,
        fenceKey: `${lockKey}:fence`,
        lockValue: value,
        budgetMs: () => 1_000,
      };
      const next = await issueFencingToken(request);
      expect(next).not.toBeNull();
      expect(next!).toBeGreaterThan(lease.fencingToken);
      // Paused until the key moved on: two of three nodes now carry another value.
      await raw[0]!.set(lockKey, 'next-holder');
      await raw[1]!.set(lockKey, 'next-holder');
      expect(await issueFencingToken(request)).toBeNull();
      // Left alone: no node's counter went past the last issued token. (A node outside the quorum
      // that committed it may still hold an older value: the commit does not wait for every node.)
      const counters = await Promise.all(
        raw.map(async (node) => BigInt((await node.get(`${lockKey}:fence`)) ?? '0')),
      );
      expect(
        counters.reduce((max, counter) => (counter > max ? counter : max)),
        'the counter was left alone',
      ).toBe(next);
    } finally {
      await Promise.allSettled(clients.map((client) => client.quit()));
    }
  });

  it('keep increasing when the counters are lost (a node restarted without persistence)', async () => {
    const lock = lockOn(urls);
    const key = freshKey('counter-loss');
    const first = held(await lock.acquire(key, 5_000));
    await first.release();
    await Promise.all(raw.map((node) => node.del(`${PREFIX}{${key}}:fence`)));
    const second = held(await lock.acquire(key, 5_000));
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
  });

  it('keep increasing across a real Redis restart, and the lock reconnects by itself', async () => {
    const url = urls[0]!;
    const port = new URL(url).port;
    const lock = lockOn([url], { operationTimeoutMs: 500 });
    const key = freshKey('restart');
    const before = held(await lock.acquire(key, 30_000));

    await restartRedis(port);
    // The node came back empty: the old lease is gone and the key is free again.
    const deadline = Date.now() + 10_000;
    let after: LockLease | null = null;
    while (!after && Date.now() < deadline) {
      after = await lock.acquire(key, 5_000).catch(() => null);
      if (!after) await sleep(100);
    }
    expect(after, 'acquired again after the restart').not.toBeNull();
    expect(after!.fencingToken).toBeGreaterThan(before.fencingToken);
    expect(await before.extend(5_000), 'the pre-restart lease is lost').toBe(false);
  });
});

describe('with core’s LeaseKeeper (what the relay and inbox processor use)', () => {
  it('keeps the lock through renewals and signals loss about a third of the TTL after it', async () => {
    const lock = lockOn(urls);
    const key = freshKey('keeper');
    const ttlMs = 900;
    const keeper = new LeaseKeeper({ lock, key, ttlMs, waitMs: 50, logger: silentLogger });
    const stop = new AbortController();
    try {
      expect(await keeper.hold(stop.signal)).toBe(true);
      const token = keeper.lease!.fencingToken;
      await sleep(ttlMs * 3);
      expect(keeper.signal.aborted, 'renewed, not lost').toBe(false);
      expect(await lockOn(urls).acquire(key, ttlMs), 'still exclusive after 3 TTLs').toBeNull();

      // Someone takes the key (as after a pause longer than the TTL).
      const lockKey = `${PREFIX}{${key}}`;
      await Promise.all(raw.map((node) => node.set(lockKey, 'thief', 'PX', 10_000)));
      const stolenAt = Date.now();
      await new Promise<void>((resolve) => keeper.signal.addEventListener('abort', () => resolve()));
      // Renewals run every third of the TTL; the slack absorbs a busy machine's timers.
      expect(Date.now() - stolenAt).toBeLessThanOrEqual(ttlMs / 3 + 300);

      await Promise.all(raw.map((node) => node.del(lockKey)));
      expect(await keeper.hold(stop.signal)).toBe(true);
      expect(keeper.lease!.fencingToken).toBeGreaterThan(token);
    } finally {
      stop.abort();
      await keeper.release();
    }
  });
});

const REDIS_SCRIPT = fileURLToPath(new URL('../../../tooling/services/redis.sh', import.meta.url));

async function restartRedis(port: string): Promise<void> {
  await promisify(execFile)('bash', [REDIS_SCRIPT, 'restart', port], { timeout: 60_000 });
}
