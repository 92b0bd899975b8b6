import { HeraldError } from '@herald/core';

/**
 * Redis could not answer a lock operation well enough to decide it: too few
 * nodes reachable for a quorum, a timeout, or the lock was already closed.
 * "Someone else holds the key" is not an error: `acquire` resolves `null`.
 */
export class RedisLockError extends HeraldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HERALD_REDIS_LOCK', message, options);
  }
}

/** Internal: an operation did not settle within its time budget. */
export class DeadlineExceeded extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not settle within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}
