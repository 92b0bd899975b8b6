/**
 * `@herald/lock-redis`: Herald's distributed lock on Redis (Redlock), with fencing tokens.
 *
 * @packageDocumentation
 */

export { RedisLockError } from './errors.js';
export type { RedisClient } from './fencing.js';
export { type RedisLock, redisLock } from './lock.js';
export type { RedisLockOptions } from './options.js';
