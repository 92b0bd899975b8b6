import {
  ConfigurationError,
  type Logger,
  parseConnectionUrl,
  redactingLogger,
  secretsOfUrl,
} from '@herald/core';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisClient } from './fencing.js';

/**
 * Options of {@link redisLock}. Give exactly one of `redis`, `clients` or `urls`.
 */
export interface RedisLockOptions {
  /** One Redis node, through your ioredis client (not closed by `close()`). */
  redis?: RedisClient;
  /**
   * Several independent Redis nodes (Redlock: a key is held when a majority
   * granted it). Use an odd number, 3 or 5, on separate hosts. Not closed by
   * `close()`.
   */
  clients?: readonly RedisClient[];
  /**
   * Node URLs (`redis://host:port`); the lock opens one client per URL with
   * fail-fast settings and closes them on `close()`.
   */
  urls?: string | readonly string[];
  /** Extra ioredis options for the clients opened from `urls`. */
  redisOptions?: RedisOptions;
  /** Prefix of every Redis key the lock writes. Default `herald:lock:`. */
  keyPrefix?: string;
  /**
   * Redlock's clock-drift allowance as a fraction of the TTL: a lease is
   * considered over `ttl * driftFactor + 2 ms` before Redis expires it.
   * Default 0.01.
   */
  driftFactor?: number;
  /**
   * Upper bound of one lock operation (acquire, extend, release) in ms; an
   * extension is additionally bounded by what is left of the lease. Default 2000.
   */
  operationTimeoutMs?: number;
  /** Receives node-level errors at debug level (lock outcomes are logged by core). */
  logger?: Logger;
}

/** Checks the options (`ConfigurationError` naming the bad one), applies the defaults and opens the clients of `urls`. */
export function resolveSettings(options: RedisLockOptions): RedisLockSettings {
  const given = [options.redis, options.clients, options.urls].filter((value) => value !== undefined);
  if (given.length !== 1)
    throw new ConfigurationError('redisLock() needs exactly one of "redis", "clients" or "urls"');

  const driftFactor = options.driftFactor ?? 0.01;
  if (!(driftFactor >= 0 && driftFactor < 0.5))
    throw new ConfigurationError('"driftFactor" must be at least 0 and below 0.5');
  const operationTimeoutMs = options.operationTimeoutMs ?? 2_000;
  if (!(operationTimeoutMs >= 10))
    throw new ConfigurationError('"operationTimeoutMs" must be at least 10 ms');

  let clients: readonly RedisClient[];
  let owned: readonly RedisClient[] = [];
  let logger = options.logger;
  if (options.redis) clients = [options.redis];
  else if (options.clients) clients = [...options.clients];
  else {
    const urls = typeof options.urls === 'string' ? [options.urls] : [...(options.urls ?? [])];
    // Checked up front: a typo fails here, naming the problem but not the password.
    const parsed = urls.map((url, index) =>
      parseConnectionUrl(url, { name: `redisLock urls[${index}]`, protocols: ['redis', 'rediss'] }),
    );
    if (logger) logger = redactingLogger(logger, parsed.flatMap(secretsOfUrl));
    owned = urls.map((url) => openClient(url, operationTimeoutMs, options.redisOptions, logger));
    clients = owned;
  }
  if (clients.length === 0) throw new ConfigurationError('redisLock() needs at least one Redis node');
  if (new Set(clients).size !== clients.length)
    throw new ConfigurationError('redisLock() got the same client twice; Redlock nodes must be independent');

  return {
    clients,
    owned,
    keyPrefix: options.keyPrefix ?? 'herald:lock:',
    driftFactor,
    operationTimeoutMs,
    logger,
  };
}

/** A client that fails fast while its node is down, so one dead node never stalls a quorum. */
function openClient(
  url: string,
  timeoutMs: number,
  redisOptions: RedisOptions | undefined,
  logger: Logger | undefined,
): Redis {
  const client = new Redis(url, {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    // Reconnect forever, but not in a tight loop.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    ...redisOptions,
  });
  // Connection errors are reported per operation; without a listener ioredis prints them to stderr.
  client.on('error', (error: unknown) => logger?.debug('Redis lock connection error', { url, error }));
  return client;
}

/** What the lock needs; {@link resolveSettings} makes it from the public options. */
export interface RedisLockSettings {
  readonly clients: readonly RedisClient[];
  /** Clients this lock created and therefore quits on `close()`. */
  readonly owned: readonly RedisClient[];
  readonly keyPrefix: string;
  readonly driftFactor: number;
  readonly operationTimeoutMs: number;
  readonly logger: Logger | undefined;
}
