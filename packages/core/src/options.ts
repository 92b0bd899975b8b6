import { ConfigurationError } from './errors.js';

/**
 * Bus options. The first ten are MASA's IntegrationEventBus options,
 * camelCased, with MASA's defaults; durations are milliseconds.
 */
export interface HeraldOptions {
  /** Fast in-process retries of a failed publish or handler before a persistent retry is scheduled. MASA default 3. */
  localRetryTimes: number;
  /** Persistent retries (stored in the outbox/inbox) before the message is dead-lettered. MASA default 10. */
  maxRetryTimes: number;
  /** Pause between local retries. MASA default 3 s. */
  localFailedRetryInterval: number;
  /** Pause before a persistent retry (`retryBackoff` may grow it per attempt). MASA default 60 s. */
  failedRetryInterval: number;
  /**
   * A claimed record not finished within this time is considered abandoned and
   * may be claimed again (MASA: retry records "in progress" older than this).
   * It is the lease length of relay and inbox claims. MASA default 60 s.
   */
  minimumRetryInterval: number;
  /** Records the inbox retry processor claims at once. MASA default 100. */
  retryBatchSize: number;
  /** How often published outbox records and processed inbox entries are deleted. MASA default 300 s. */
  cleaningExpireInterval: number;
  /** Age after which published outbox records (and processed inbox entries, unless set apart) are deleted. MASA default 24 h. */
  publishedExpireTime: number;
  /**
   * Age after which processed inbox entries are deleted, when it should differ
   * from the outbox's `publishedExpireTime` (ABP keeps processed inbox
   * records 2 h). Default `null`: `publishedExpireTime`. The inbox deduplicates
   * redeliveries only while it keeps the entry.
   */
  processedInboxExpireTime: number | null;
  /** Records deleted per cleanup statement. MASA default 1000. */
  deleteBatchCount: number;

  /** Records the relay claims at once (ABP's OutboxWaitingEventMaxCount). Default 1000. */
  batchSize: number;
  /** Polling fallback when no wake-up arrives (ABP's PeriodTimeSpan). Default 2 s. */
  pollingInterval: number;
  /** How long a replica waits before trying a held distributed lock again (ABP). Default 15 s. */
  distributedLockWaitDuration: number;
  /** Lifetime of distributed lock leases (extended automatically while held). Default 30 s. */
  distributedLockTtl: number;
  /**
   * Split each outbox into this many shards by ordering-key hash, each relayed
   * under its own lock lease, so several replicas relay in parallel (per-key
   * order holds: a key always maps to one shard). Default 1 (ABP: one relay per
   * database). Needs `useLock()` to spread across replicas.
   */
  relayShards: number;
  /** How long a replica keeps a shard before handing it back for rebalancing. Default 30 s. */
  shardTenure: number;
  /** A handler still running after this is failed with `HandlerTimeoutError`. Default 30 s. */
  handlerTimeout: number;
  /**
   * Handlers a consumer runs at once (different ordering keys). With group
   * commit each inbox transaction runs its handlers one after another, so this
   * is also how many inbox transactions one inbox runs at once. Default 16.
   */
  concurrency: number;
  /**
   * Group commit: the most deliveries handled in one inbox transaction. Deliveries
   * ready at the same moment share a transaction (one dedup statement, one
   * commit); a batch never waits for more. 1 gives each delivery its own. Default 100.
   */
  inboxBatchSize: number;
  /** Largest payload accepted on publish and on receive. Default 1 MiB. */
  maxPayloadBytes: number;
  /**
   * Delay before persistent retry `attempt` (1-based). Default: `failedRetryInterval`
   * doubled per attempt, capped at 10 × `failedRetryInterval`.
   */
  retryBackoff: (attempt: number, options: HeraldOptions) => number;
}

/** Default persistent-retry backoff: exponential from `failedRetryInterval`, capped at ten times it. */
export function defaultRetryBackoff(attempt: number, options: HeraldOptions): number {
  const base = options.failedRetryInterval;
  return Math.min(base * 2 ** Math.max(0, attempt - 1), base * 10);
}

/** The defaults: MASA's for its options, ABP's for the outbox/inbox ones. */
export function defaultOptions(): HeraldOptions {
  return {
    localRetryTimes: 3,
    maxRetryTimes: 10,
    localFailedRetryInterval: 3_000,
    failedRetryInterval: 60_000,
    minimumRetryInterval: 60_000,
    retryBatchSize: 100,
    cleaningExpireInterval: 300_000,
    publishedExpireTime: 24 * 3600_000,
    processedInboxExpireTime: null,
    deleteBatchCount: 1000,
    batchSize: 1000,
    pollingInterval: 2_000,
    distributedLockWaitDuration: 15_000,
    distributedLockTtl: 30_000,
    relayShards: 1,
    shardTenure: 30_000,
    handlerTimeout: 30_000,
    concurrency: 16,
    inboxBatchSize: 100,
    maxPayloadBytes: 1024 * 1024,
    retryBackoff: defaultRetryBackoff,
  };
}

const INTEGER_MIN: Array<[keyof HeraldOptions, number]> = [
  ['localRetryTimes', 0],
  ['maxRetryTimes', 0],
  ['retryBatchSize', 1],
  ['deleteBatchCount', 1],
  ['batchSize', 1],
  ['relayShards', 1],
  ['concurrency', 1],
  ['inboxBatchSize', 1],
  ['maxPayloadBytes', 1],
];
const DURATION_MIN: Array<[keyof HeraldOptions, number]> = [
  ['localFailedRetryInterval', 0],
  ['failedRetryInterval', 0],
  ['minimumRetryInterval', 10],
  ['cleaningExpireInterval', 10],
  ['publishedExpireTime', 0],
  ['pollingInterval', 5],
  ['distributedLockWaitDuration', 1],
  ['distributedLockTtl', 100],
  ['handlerTimeout', 1],
  ['shardTenure', 10],
];

/** Options of MASA or ABP that Herald does not take, and what to do instead. */
const RETIRED: Readonly<Record<string, string>> = {
  cleaningLocalQueueExpireInterval:
    'Option "cleaningLocalQueueExpireInterval" is not supported: it is the period at which MASA expires its ' +
    'in-memory local retry queue, and Herald keeps no such queue (local retries run in place, bounded by ' +
    'localRetryTimes × localFailedRetryInterval; everything else is stored). Cleanup of every store, the ' +
    'in-memory ones included, runs every cleaningExpireInterval. Remove the option.',
};

/** Checks options and explains what is wrong; returns a frozen copy. */
export function validateOptions(options: HeraldOptions): Readonly<HeraldOptions> {
  const known = new Set(Object.keys(defaultOptions()));
  for (const key of Object.keys(options)) {
    const retired = RETIRED[key];
    if (retired !== undefined) throw new ConfigurationError(retired);
    if (!known.has(key))
      throw new ConfigurationError(`Unknown option "${key}". Known options: ${[...known].join(', ')}`);
  }
  for (const [key, min] of INTEGER_MIN) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new ConfigurationError(`Option "${key}" must be an integer ≥ ${min}, got ${String(value)}`);
    }
  }
  for (const [key, min] of DURATION_MIN) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new ConfigurationError(
        `Option "${key}" must be a duration in milliseconds ≥ ${min}, got ${String(value)}`,
      );
    }
  }
  const inboxExpire = options.processedInboxExpireTime;
  if (
    inboxExpire !== null &&
    (typeof inboxExpire !== 'number' || !Number.isFinite(inboxExpire) || inboxExpire < 0)
  ) {
    throw new ConfigurationError(
      `Option "processedInboxExpireTime" must be null or a duration in milliseconds ≥ 0, got ${String(inboxExpire)}`,
    );
  }
  if (typeof options.retryBackoff !== 'function') {
    throw new ConfigurationError(
      'Option "retryBackoff" must be a function (attempt, options) => milliseconds',
    );
  }
  if (options.minimumRetryInterval <= options.localRetryTimes * options.localFailedRetryInterval) {
    throw new ConfigurationError(
      `"minimumRetryInterval" (${options.minimumRetryInterval} ms) must exceed the local retry budget ` +
        `localRetryTimes × localFailedRetryInterval (${options.localRetryTimes * options.localFailedRetryInterval} ms), ` +
        'or a record still being retried locally could be claimed by another relay.',
    );
  }
  if (options.distributedLockWaitDuration > 0 && options.distributedLockTtl < 100) {
    throw new ConfigurationError('"distributedLockTtl" must be at least 100 ms');
  }
  return Object.freeze({ ...options });
}
