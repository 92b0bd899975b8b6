import type { DistributedLock, LockLease } from '@herald/core';
import { expect } from 'vitest';
import { uniqueSuffix } from '../internal/random.js';
import { sleep } from '../internal/wait.js';
import { type ConformanceCase, describeCases } from './case.js';

/** What each lock case receives. */
export interface LockTestContext {
  /** A lock client. */
  readonly lock: DistributedLock;
  /** A second, independent client of the same backend (another replica). */
  readonly other: DistributedLock;
  /** A fresh key no other case uses. */
  key(): string;
  /** A TTL short enough to wait out in a test, long enough for the backend's clock drift. */
  readonly shortTtlMs: number;
}

/** Options of {@link describeLockConformance}. */
export interface LockConformanceOptions {
  /** Shown in the vitest `describe` title. */
  readonly name: string;
  /** Creates a lock client; called twice per case (two replicas). */
  readonly create: () => Promise<DistributedLock>;
  /** TTL used by the expiry cases; default 300 ms. */
  readonly shortTtlMs?: number;
  /** Per-case vitest timeout; default 30 s. */
  readonly timeoutMs?: number;
}

type LockCase = ConformanceCase<LockTestContext>;

const LONG_TTL = 10_000;

function held(lease: LockLease | null, what: string): LockLease {
  expect(lease, what).not.toBeNull();
  return lease as LockLease;
}

const exclusivity: LockCase = {
  name: 'a held key cannot be acquired again (by any client) until released; other keys are independent',
  async run({ lock, other, key }) {
    const k = key();
    const before = Date.now();
    const lease = held(await lock.acquire(k, LONG_TTL), 'first acquire');
    expect(lease.key).toBe(k);
    expect(lease.expiresAt.getTime()).toBeGreaterThan(before);
    expect(await other.acquire(k, LONG_TTL), 'another client').toBeNull();
    expect(await lock.acquire(k, LONG_TTL), 'the same client').toBeNull();
    held(await other.acquire(key(), LONG_TTL), 'a different key');
  },
};

const releaseAndReacquire: LockCase = {
  name: 'a released key can be acquired again; release is idempotent and never frees a later holder',
  async run({ lock, other, key }) {
    const k = key();
    const first = held(await lock.acquire(k, LONG_TTL), 'first acquire');
    await first.release();
    await first.release();
    held(await other.acquire(k, LONG_TTL), 'acquire after release');
    await first.release();
    expect(await lock.acquire(k, LONG_TTL), 'a stale release must not free the new holder').toBeNull();
  },
};

const expiry: LockCase = {
  name: 'an expired lease lets another client acquire the key',
  async run({ lock, other, key, shortTtlMs }) {
    const k = key();
    held(await lock.acquire(k, shortTtlMs), 'first acquire');
    expect(await other.acquire(k, LONG_TTL)).toBeNull();
    await sleep(shortTtlMs * 2 + 50);
    held(await other.acquire(k, LONG_TTL), 'acquire after expiry');
  },
};

const extension: LockCase = {
  name: 'extend keeps the key held past the original TTL',
  async run({ lock, other, key, shortTtlMs }) {
    const k = key();
    const lease = held(await lock.acquire(k, shortTtlMs), 'first acquire');
    const originalEnd = lease.expiresAt.getTime();
    await sleep(shortTtlMs / 2);
    expect(await lease.extend(shortTtlMs * 6)).toBe(true);
    expect(lease.expiresAt.getTime()).toBeGreaterThan(originalEnd);
    await sleep(shortTtlMs * 1.5);
    expect(await other.acquire(k, LONG_TTL), 'still held after the original TTL').toBeNull();
  },
};

const extendAfterLoss: LockCase = {
  name: 'extend after the lease was lost returns false and does not steal the key back',
  async run({ lock, other, key, shortTtlMs }) {
    const k = key();
    const lost = held(await lock.acquire(k, shortTtlMs), 'first acquire');
    await sleep(shortTtlMs * 2 + 50);
    held(await other.acquire(k, LONG_TTL), 'takeover');
    expect(await lost.extend(LONG_TTL)).toBe(false);
    expect(await lock.acquire(k, LONG_TTL), 'the new holder keeps the key').toBeNull();
  },
};

const fencing: LockCase = {
  name: 'fencing tokens strictly increase across acquisitions of a key (release and expiry)',
  async run({ lock, other, key, shortTtlMs }) {
    const k = key();
    const first = held(await lock.acquire(k, LONG_TTL), 'first');
    expect(typeof first.fencingToken).toBe('bigint');
    await first.release();
    const second = held(await other.acquire(k, shortTtlMs), 'second');
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await sleep(shortTtlMs * 2 + 50);
    const third = held(await lock.acquire(k, LONG_TTL), 'third (after expiry)');
    expect(third.fencingToken).toBeGreaterThan(second.fencingToken);
  },
};

const race: LockCase = {
  name: 'ten concurrent acquires of one key: exactly one wins',
  async run({ lock, other, key }) {
    const k = key();
    const leases = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? lock : other).acquire(k, LONG_TTL)),
    );
    expect(leases.filter((lease) => lease !== null)).toHaveLength(1);
  },
};

/** Every check a {@link DistributedLock} must pass. */
export const lockCases: readonly ConformanceCase<LockTestContext>[] = [
  exclusivity,
  releaseAndReacquire,
  expiry,
  extension,
  extendAfterLoss,
  fencing,
  race,
];

/** Runs one lock case with two fresh clients from `create`, closing them afterwards. */
export async function runLockCase(
  testCase: ConformanceCase<LockTestContext>,
  options: Pick<LockConformanceOptions, 'create' | 'shortTtlMs'>,
): Promise<void> {
  const lock = await options.create();
  const other = await options.create();
  const prefix = `testkit:lock:${uniqueSuffix()}`;
  let keys = 0;
  try {
    await testCase.run({
      lock,
      other,
      key: () => `${prefix}:${++keys}`,
      shortTtlMs: options.shortTtlMs ?? 300,
    });
  } finally {
    await Promise.allSettled([lock.close?.(), other.close?.()]);
  }
}

/**
 * Registers the lock conformance suite with vitest: one `it` per case in
 * {@link lockCases}.
 *
 * ```ts
 * describeLockConformance({ name: 'redis', create: async () => redisLock({ redis: new Redis(url) }) });
 * ```
 */
export function describeLockConformance(options: LockConformanceOptions): void {
  describeCases(
    `DistributedLock conformance: ${options.name}`,
    lockCases,
    (testCase) => runLockCase(testCase, options),
    options.timeoutMs,
  );
}
