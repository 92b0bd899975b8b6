import { describe, expect, it } from 'vitest';
import { type DistributedLock, LeaseKeeper, type LockLease, MemoryLock, silentLogger } from '../src/index.js';

/** A memory lock whose extensions fail (throw) `failures` times, as during a short broker hiccup. */
function flakyLock(
  failures: { count: number },
  answer: () => boolean | undefined = () => undefined,
): DistributedLock {
  const inner = new MemoryLock();
  return {
    name: 'flaky',
    async acquire(key, ttl) {
      const lease = await inner.acquire(key, ttl);
      if (!lease) return null;
      const wrapped: LockLease = {
        key: lease.key,
        fencingToken: lease.fencingToken,
        get expiresAt() {
          return lease.expiresAt;
        },
        async extend(ms) {
          const forced = answer();
          if (forced !== undefined) return forced;
          if (failures.count-- > 0) throw new Error('connection reset');
          return lease.extend(ms);
        },
        release: () => lease.release(),
      };
      return wrapped;
    },
  };
}

describe('LeaseKeeper', () => {
  it('keeps the lease through failed extensions while it is still valid', async () => {
    const keeper = new LeaseKeeper({
      lock: flakyLock({ count: 2 }),
      key: 'k',
      ttlMs: 300,
      waitMs: 10,
      logger: silentLogger,
    });
    expect(await keeper.hold(new AbortController().signal)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(keeper.signal.aborted).toBe(false);
    expect(keeper.lease).toBeDefined();
    await keeper.release();
  });

  it('gives up at once when the lock says the lease is gone, and releases it', async () => {
    const keeper = new LeaseKeeper({
      lock: flakyLock({ count: 0 }, () => false),
      key: 'k',
      ttlMs: 300,
      waitMs: 10,
      logger: silentLogger,
    });
    await keeper.hold(new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(keeper.signal.aborted).toBe(true);
    expect(keeper.lease).toBeUndefined();
  });

  it('counts a lease whose extensions keep failing until it expires as lost', async () => {
    const keeper = new LeaseKeeper({
      lock: flakyLock({ count: 1000 }),
      key: 'k',
      ttlMs: 200,
      waitMs: 10,
      logger: silentLogger,
    });
    await keeper.hold(new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(keeper.signal.aborted).toBe(true);
  });
});
