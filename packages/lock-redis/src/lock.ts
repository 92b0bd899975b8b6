import { type DistributedLock, describeError, type LockLease } from '@herald/core';
import Redlock, { ExecutionError, type ExecutionStats, type Lock, ResourceLockedError } from 'redlock';
import { withDeadline } from './deadline.js';
import { DeadlineExceeded, RedisLockError } from './errors.js';
import { issueFencingToken } from './fencing.js';
import { type RedisLockOptions, type RedisLockSettings, resolveSettings } from './options.js';

/**
 * Core's {@link DistributedLock} on Redlock: a key is held when a majority of
 * the independent Redis nodes granted it (one node: that node). `acquire`
 * tries exactly once; extension is the caller's job (core's LeaseKeeper).
 * Leases carry a fencing token.
 */
export interface RedisLock extends DistributedLock {
  /** Quits the clients the lock opened from `urls` (never yours). */
  close(): Promise<void>;
}

/**
 * A distributed lock on Redis for `builder.useLock(...)`: one outbox relay and
 * one inbox processor per database at a time across replicas, with fencing
 * tokens.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisLock } from '@herald/lock-redis';
 *
 * builder.useLock(redisLock({ redis: new Redis(process.env.REDIS_URL) }));
 * // several independent nodes (Redlock):
 * builder.useLock(redisLock({ urls: ['redis://r1:6379', 'redis://r2:6379', 'redis://r3:6379'] }));
 * ```
 */
export function redisLock(options: RedisLockOptions): RedisLock {
  return new RedlockLock(resolveSettings(options));
}

class RedlockLock implements RedisLock {
  readonly name: string;
  readonly #settings: RedisLockSettings;
  readonly #redlock: Redlock;
  #closed = false;

  constructor(settings: RedisLockSettings) {
    this.#settings = settings;
    const nodes = settings.clients.length;
    this.name = nodes === 1 ? 'redis' : `redis-redlock-${nodes}`;
    // retryCount 0: one attempt per acquire/extend/release; waiting between
    // tries is core's `distributedLockWaitDuration`, not a loop hidden in here.
    this.#redlock = new Redlock(settings.clients, {
      driftFactor: settings.driftFactor,
      retryCount: 0,
      retryJitter: 0,
    });
    // Redlock emits every per-node failure, including "already locked"; only
    // infrastructure errors are worth a (debug) line.
    this.#redlock.on('error', (error: unknown) => {
      if (!(error instanceof ResourceLockedError))
        settings.logger?.debug('Redis lock node error', { lock: this.name, error });
    });
  }

  async acquire(key: string, ttlMs: number): Promise<LockLease | null> {
    if (this.#closed) throw new RedisLockError('The Redis lock is closed');
    const ttl = checkTtl(ttlMs);
    const resource = this.#resourceKey(key);
    const started = Date.now();
    // An acquisition slower than the TTL would hand back a lease that is already over.
    const budget = () => Math.min(this.#settings.operationTimeoutMs, started + ttl - Date.now());

    const attempt = this.#redlock.acquire([resource], ttl, { retryCount: 0 });
    let lock: Lock;
    try {
      lock = await withDeadline(attempt, budget(), 'Lock acquisition');
    } catch (error) {
      if (error instanceof DeadlineExceeded) {
        // It may still succeed later; give the key back if it does.
        attempt.then(
          (late) => late.release().catch(() => undefined),
          () => undefined,
        );
        throw new RedisLockError(`Acquiring "${key}" timed out: ${error.message}`, { cause: error });
      }
      if (error instanceof ExecutionError && (await lockedElsewhere(error, budget()))) return null;
      throw new RedisLockError(`Could not acquire "${key}": ${describeError(error)}`, { cause: error });
    }

    let token: bigint | null;
    try {
      token = await issueFencingToken({
        clients: this.#settings.clients,
        lockKey: resource,
        fenceKey: `${resource}:fence`,
        lockValue: lock.value,
        budgetMs: budget,
      });
    } catch (error) {
      await this.#giveBack(lock);
      throw error instanceof RedisLockError
        ? error
        : new RedisLockError(`Could not issue a fencing token for "${key}": ${describeError(error)}`, {
            cause: error,
          });
    }
    if (token === null || lock.expiration <= Date.now()) {
      // Lost the key between grant and token, or the whole dance outlived the TTL.
      await this.#giveBack(lock);
      return null;
    }
    return new RedisLease(key, token, lock, this.#redlock, this.#settings.operationTimeoutMs);
  }

  /** Quits the connections this lock opened itself (never the caller's clients). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#settings.owned.map((client) =>
        withDeadline(client.quit(), this.#settings.operationTimeoutMs, 'QUIT').catch(() =>
          client.disconnect(),
        ),
      ),
    );
  }

  #resourceKey(key: string): string {
    // The hash tag keeps the lock and its fence counter in one slot, should a
    // "node" be a Redis Cluster.
    return `${this.#settings.keyPrefix}{${key}}`;
  }

  async #giveBack(lock: Lock): Promise<void> {
    await withDeadline(
      this.#redlock.release(lock, { retryCount: 0 }),
      this.#settings.operationTimeoutMs,
      'Lock release',
    ).catch(() => undefined); // It expires on its own within the TTL.
  }
}

/** A Redlock lease plus its fencing token. */
class RedisLease implements LockLease {
  readonly key: string;
  readonly fencingToken: bigint;
  readonly #redlock: Redlock;
  readonly #timeoutMs: number;
  #lock: Lock;
  #expiresAt: number;
  /** Released, or reported lost: never extended again. */
  #over = false;
  #released = false;

  constructor(key: string, fencingToken: bigint, lock: Lock, redlock: Redlock, timeoutMs: number) {
    this.key = key;
    this.fencingToken = fencingToken;
    this.#lock = lock;
    this.#expiresAt = lock.expiration;
    this.#redlock = redlock;
    this.#timeoutMs = timeoutMs;
  }

  get expiresAt(): Date {
    return new Date(this.#expiresAt);
  }

  async extend(ttlMs: number): Promise<boolean> {
    const ttl = checkTtl(ttlMs);
    // Past its validity the key may already belong to someone else: never resurrect it.
    if (this.#over || this.#expiresAt <= Date.now()) {
      this.#over = true;
      return false;
    }
    const attempt = this.#redlock.extend(this.#lock, ttl, { retryCount: 0 });
    // An answer after the lease ran out would come too late to be trusted.
    const leaseLeftMs = this.#expiresAt - Date.now();
    const boundByLease = leaseLeftMs < this.#timeoutMs;
    try {
      const extended = await withDeadline(attempt, Math.min(this.#timeoutMs, leaseLeftMs), 'Lock extension');
      if (this.#over) {
        // Released while the extension was in flight.
        await this.#redlock.release(extended, { retryCount: 0 }).catch(() => undefined);
        return false;
      }
      this.#lock = extended;
      this.#expiresAt = extended.expiration;
      return true;
    } catch (error) {
      // A deadline set by the lease's end means the lease ran out, even when the timer fired a
      // few milliseconds before the wall clock got there (timers run on the event loop's clock).
      if (error instanceof DeadlineExceeded && (boundByLease || this.#expiresAt <= Date.now())) {
        // No answer before the lease ran out: it is lost. Should the
        // extension still land, give the key back instead of blocking others.
        this.#over = true;
        attempt.then(
          (late) => late.release().catch(() => undefined),
          () => undefined,
        );
        return false;
      }
      if (error instanceof ExecutionError && (await lockedElsewhere(error, this.#timeoutMs))) {
        this.#over = true;
        return false;
      }
      // Redis did not say no, it failed to answer: the caller decides (core's LeaseKeeper stops).
      throw new RedisLockError(`Could not extend "${this.key}": ${describeError(error)}`, { cause: error });
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#over = true;
    try {
      await withDeadline(
        this.#redlock.release(this.#lock, { retryCount: 0 }),
        this.#timeoutMs,
        'Lock release',
      );
    } catch (error) {
      // Not held any more on a quorum (expired, taken over): nothing left to release.
      if (error instanceof ExecutionError && (await lockedElsewhere(error, this.#timeoutMs))) return;
      throw new RedisLockError(
        `Could not release "${this.key}" (it expires by itself): ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * Did a quorum fail because nodes hold the key under another value (taken,
 * expired or released), rather than because Redis failed?
 */
async function lockedElsewhere(error: ExecutionError, budgetMs: number): Promise<boolean> {
  const stats = error.attempts[error.attempts.length - 1];
  // No vote at all: redlock refused locally ("Cannot extend an already-expired lock").
  if (!stats) return true;
  // The stats settle once every node has answered; a hung node must not stall us.
  const settled: ExecutionStats | undefined = await withDeadline(stats, budgetMs, 'Lock votes').catch(
    () => undefined,
  );
  if (!settled) return false;
  return [...settled.votesAgainst.values()].some((vote) => vote instanceof ResourceLockedError);
}

function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1)
    throw new RedisLockError(`A lock TTL must be a positive number of milliseconds (got ${ttlMs})`);
  return Math.ceil(ttlMs);
}
