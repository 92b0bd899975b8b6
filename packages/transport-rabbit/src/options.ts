import {
  ConfigurationError,
  type Logger,
  parseConnectionUrl,
  redactingLogger,
  secretsOfUrl,
  silentLogger,
} from '@herald/core';

/** Options of {@link rabbitMqTransport}; only `url` is required. */
export interface RabbitMqTransportOptions {
  /** AMQP URL, e.g. `amqp://user:pass@127.0.0.1:5672/vhost`. */
  url: string;
  /** Durable topic exchange of this bus; events are routed by name. Default `herald`. */
  exchange?: string;
  /**
   * Prefix of every queue this transport declares: the group queue is
   * `<prefix><group>`, plus `<prefix><group>.retry.<tier>` and
   * `<prefix><group>.dead-letter`. Default `<exchange>.`.
   */
  queuePrefix?: string;
  /** `classic` (default) or `quorum` (replicated; dead-letters at-least-once). */
  queueType?: 'classic' | 'quorum';
  /**
   * Declares group queues with `x-single-active-consumer`: one member of a group
   * consumes at a time, in queue order, so messages with the same ordering key
   * are handled in publish order (`capabilities.orderedByKey`). Default `false`.
   */
  singleActiveConsumer?: boolean;
  /**
   * Unacknowledged deliveries per group consumer (AMQP prefetch); also how many
   * are handed to core at once, which feeds core's inbox batches. Default 256.
   */
  prefetch?: number;
  /** Published messages awaiting a broker confirm at once (the confirm window). Default 1000. */
  confirmWindow?: number;
  /**
   * Delay tiers of the retry queues, in milliseconds. A `retry` disposition
   * goes to the smallest tier ≥ its `delayMs` (the largest tier when none is).
   * Default `[1000, 5000, 30000, 300000]`.
   */
  retryDelays?: readonly number[];
  /** How long `publish` waits for a connection during an outage before it rejects. Default 10 s. */
  publishTimeoutMs?: number;
  /** How long `start()` keeps trying to reach the broker. Default 30 s. */
  connectTimeoutMs?: number;
  /** Reconnect backoff: first delay, growth factor and cap (ms). Default 100 ms × 2 up to 5 s. */
  reconnect?: {
    /** Delay before the first reconnect attempt (ms). Default 100. */
    initialDelayMs?: number;
    /** Growth of the delay per failed attempt (≥ 1). Default 2. */
    factor?: number;
    /** Upper bound of the delay (ms). Default 5000. */
    maxDelayMs?: number;
  };
  /** AMQP heartbeat in seconds; detects a dead broker on an idle connection. Default 10. */
  heartbeatSeconds?: number;
  /** Name shown in the RabbitMQ management UI for this connection. */
  connectionName?: string;
  /** Connection trouble and dropped channels are reported here. Default: silent. */
  logger?: Logger;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  /** The AMQP URL as given (it may hold the password: never log it). */
  readonly url: string;
  /** The bus's topic exchange. Default `herald`. */
  readonly exchange: string;
  /** Prefix of every queue name. Default `<exchange>.`. */
  readonly queuePrefix: string;
  /** Type of the declared queues. Default `classic`. */
  readonly queueType: 'classic' | 'quorum';
  /** Whether group queues are single-active-consumer (ordered per key). Default false. */
  readonly singleActiveConsumer: boolean;
  /** Unacknowledged deliveries per group consumer. Default 256. */
  readonly prefetch: number;
  /** Published messages awaiting a confirm at once. Default 1000. */
  readonly confirmWindow: number;
  /** Retry delay tiers (ms), ascending, without duplicates. Default `[1000, 5000, 30000, 300000]`. */
  readonly retryDelays: readonly number[];
  /** How long `publish` waits for a connection during an outage (ms). Default 10 000. */
  readonly publishTimeoutMs: number;
  /** How long `start()` keeps trying to reach the broker (ms). Default 30 000. */
  readonly connectTimeoutMs: number;
  /** Reconnect backoff (ms): `initialDelayMs × factor^n` with ±20 % jitter, capped at `maxDelayMs`. */
  readonly reconnect: {
    /** Delay before the first reconnect attempt (ms). Default 100. */
    readonly initialDelayMs: number;
    /** Growth of the delay per failed attempt. Default 2. */
    readonly factor: number;
    /** Upper bound of the delay (ms). Default 5000. */
    readonly maxDelayMs: number;
  };
  /** AMQP heartbeat (s). Default 10. */
  readonly heartbeatSeconds: number;
  /** Connection name shown in the management UI. Default `herald:<exchange>`. */
  readonly connectionName: string;
  /** The operator's logger, wrapped so the URL's password never reaches it. */
  readonly logger: Logger;
  /** The URL's password (raw and decoded), redacted from every error the transport raises. */
  readonly secrets: readonly string[];
}

const positiveInteger = (name: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigurationError(`rabbitMqTransport: "${name}" must be an integer ≥ 1, got ${String(value)}`);
  return value;
};
const duration = (name: string, value: number, min = 0): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new ConfigurationError(
      `rabbitMqTransport: "${name}" must be a duration in milliseconds ≥ ${min}, got ${String(value)}`,
    );
  }
  return value;
};

/** Validates the options and fills in defaults; bad values throw `ConfigurationError`. */
export function resolveOptions(options: RabbitMqTransportOptions): ResolvedOptions {
  // Up front, so a typo is a non-retriable configuration error naming the problem, never the password.
  const url = parseConnectionUrl(options?.url, {
    name: 'rabbitMqTransport url',
    protocols: ['amqp', 'amqps'],
  });
  const secrets = secretsOfUrl(url);
  const exchange = options.exchange ?? 'herald';
  // AMQP short strings: names are at most 255 bytes; leave room for the suffixes.
  if (exchange.length === 0 || Buffer.byteLength(exchange) > 200) {
    throw new ConfigurationError('rabbitMqTransport: "exchange" must be 1–200 bytes');
  }
  if (exchange.startsWith('amq.'))
    throw new ConfigurationError(
      'rabbitMqTransport: "exchange" may not start with "amq." (reserved by RabbitMQ)',
    );
  const queueType = options.queueType ?? 'classic';
  if (queueType !== 'classic' && queueType !== 'quorum') {
    throw new ConfigurationError(
      `rabbitMqTransport: "queueType" must be "classic" or "quorum", got ${String(queueType)}`,
    );
  }
  const retryDelays = [...(options.retryDelays ?? [1_000, 5_000, 30_000, 300_000])]
    .map((delay) => duration('retryDelays', delay, 1))
    .sort((a, b) => a - b);
  if (retryDelays.length === 0)
    throw new ConfigurationError('rabbitMqTransport: "retryDelays" needs at least one tier');
  if (new Set(retryDelays).size !== retryDelays.length)
    throw new ConfigurationError('rabbitMqTransport: "retryDelays" has duplicate tiers');
  const reconnect = {
    initialDelayMs: duration('reconnect.initialDelayMs', options.reconnect?.initialDelayMs ?? 100, 1),
    factor: options.reconnect?.factor ?? 2,
    maxDelayMs: duration('reconnect.maxDelayMs', options.reconnect?.maxDelayMs ?? 5_000, 1),
  };
  if (!(reconnect.factor >= 1))
    throw new ConfigurationError('rabbitMqTransport: "reconnect.factor" must be ≥ 1');
  return {
    url: options.url,
    exchange,
    queuePrefix: options.queuePrefix ?? `${exchange}.`,
    queueType,
    singleActiveConsumer: options.singleActiveConsumer ?? false,
    prefetch: positiveInteger('prefetch', options.prefetch ?? 256),
    confirmWindow: positiveInteger('confirmWindow', options.confirmWindow ?? 1000),
    retryDelays,
    publishTimeoutMs: duration('publishTimeoutMs', options.publishTimeoutMs ?? 10_000),
    connectTimeoutMs: duration('connectTimeoutMs', options.connectTimeoutMs ?? 30_000),
    reconnect,
    heartbeatSeconds: positiveInteger('heartbeatSeconds', options.heartbeatSeconds ?? 10),
    connectionName: options.connectionName ?? `herald:${exchange}`,
    logger: redactingLogger(options.logger ?? silentLogger, secrets),
    secrets,
  };
}
