import { ConfigurationError, consoleLogger, type Logger, redactingLogger } from '@herald/core';
import type { CompressionTypes, KafkaConfig, RetryOptions } from 'kafkajs';
import { defaultDeadLetterTopicFor, defaultTopicFor, kafkaTopicName } from './topology.js';

/**
 * Consumer settings, named as in kafkajs' `ConsumerConfig` / `consumer.run()`.
 * Durations are milliseconds.
 */
export interface KafkaConsumerOptions {
  /** A member that sends no heartbeat for this long is removed from its group. Default 30 000 (broker minimum is usually 6 000). */
  sessionTimeout?: number;
  /**
   * How long the group waits for members to re-join during a rebalance. A
   * member finishes (and commits) the message in hand before re-joining, so
   * keep it above the bus' `handlerTimeout`. Default 60 000.
   */
  rebalanceTimeout?: number;
  /** Heartbeat period; about a third of `sessionTimeout`. Default 3 000. */
  heartbeatInterval?: number;
  /** How long the broker holds an empty fetch; also bounds how long `close()` waits for an idle fetch. Default 1 000. */
  maxWaitTimeInMs?: number;
  /** How often topic metadata is refreshed (new partitions are noticed). Default 300 000. */
  metadataMaxAge?: number;
  /** Fetch size limit per partition. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Partitions whose fetched batches are handled at the same time. Default 4. */
  partitionsConsumedConcurrently?: number;
  /**
   * Records of one subscription handed to core at the same time, across its
   * partitions and ordering keys (records of one key are always one at a
   * time, in offset order). Core handles concurrent deliveries in one inbox
   * transaction, so this also bounds its batches. Default 256.
   */
  concurrency?: number;
  /** Commit handled offsets at least this often. Default 1 000 (offsets are also committed at the end of every fetched batch and before a rebalance). */
  autoCommitInterval?: number;
  /** Commit after this many handled messages. Default 100. */
  autoCommitThreshold?: number;
  /** A new group (no committed offset) starts at the oldest retained message (`true`, as CAP does) or only sees new ones. Default true. */
  fromBeginning?: boolean;
  /** How long `subscribe()` waits for the group join before failing. Default `rebalanceTimeout` + 10 000. */
  joinTimeout?: number;
}

/** Producer settings, named as in kafkajs' `ProducerConfig` / `producer.send()`. */
export interface KafkaProducerOptions {
  /** kafkajs retry settings of a send. Default `{ retries: 5, initialRetryTime: 100, maxRetryTime: 2 000 }`: bounded, so a publish during an outage fails and the outbox retries it. */
  retry?: RetryOptions;
  /** How long the broker may take to replicate a write (acks = all). Default 30 000. */
  timeout?: number;
  /** Record batch compression. Default none. */
  compression?: CompressionTypes;
  /** How often topic metadata is refreshed. Default 300 000. */
  metadataMaxAge?: number;
}

/** Settings of topics the transport creates. */
export interface KafkaTopicOptions {
  /** Partitions of a created event topic: the unit of parallelism per consumer group. Default 3. */
  numPartitions?: number;
  /** Replication factor of created topics; -1 takes the broker's `default.replication.factor`. Default -1. */
  replicationFactor?: number;
  /** Topic configs of created event topics, e.g. `{ 'retention.ms': '604800000' }`. */
  configEntries?: Record<string, string>;
  /** Partitions of a created dead-letter topic. Default 1 (dead letters read back in the order they died). */
  deadLetterPartitions?: number;
  /**
   * Event names whose topics `start()` creates (or, with `autoCreateTopics`
   * off, checks), so a missing topic fails `bus.start()` instead of the first
   * publish. Subscribed events are always checked when subscribing. Default [].
   */
  declare?: readonly string[];
}

/**
 * Options of {@link kafkaTransport}. Connection options keep kafkajs' names
 * (`brokers`, `clientId`, `ssl`, `sasl`, `connectionTimeout`, …) so a kafkajs
 * configuration carries over.
 */
export interface KafkaTransportOptions {
  /** Bootstrap brokers, e.g. `['127.0.0.1:9092']` or `'a:9092,b:9092'`. */
  brokers: string[] | string;
  /** Client id shown in broker logs and quotas. Default `herald`. */
  clientId?: string;
  /** TLS to the brokers, as kafkajs takes it: `true`, or Node `tls.connect` options. Default: plaintext. */
  ssl?: KafkaConfig['ssl'];
  /**
   * SASL authentication, as kafkajs takes it (`plain`, `scram-sha-256/512`, `aws`, `oauthbearer`).
   * Its password and secret keys are redacted from every error and log line. Default: none.
   */
  sasl?: KafkaConfig['sasl'];
  /** Per-socket connect timeout. Default 3 000. */
  connectionTimeout?: number;
  /** Per-request timeout. Default 30 000. */
  requestTimeout?: number;
  /** Upper bound for `start()` (connect and check the cluster); past it `start()` rejects with `KafkaBrokerUnreachableError`. Default 10 000. */
  startTimeout?: number;
  /** Upper bound for one `readDeadLetters()` call. Default 15 000. */
  readTimeout?: number;
  /**
   * The topic of an event name. Default: the event name made legal for Kafka
   * (see `kafkaTopicName`), after `topicPrefix`. Several event names may share
   * a topic (for example one topic per aggregate, which keeps the order of
   * all of its events); see `sharedTopics`.
   */
  topicFor?: (eventName: string) => string;
  /**
   * Whether a topic may carry event names a consumer group does not handle by
   * design (several names mapped onto one topic by `topicFor`). Then core
   * skips such records (acknowledged, `skipped` monitor event, debug log);
   * otherwise it dead-letters them as misrouted (`UnknownEventError`).
   * Default: true with a custom `topicFor` (it may map several names onto a
   * topic), false with the default one-name-per-topic mapping.
   */
  sharedTopics?: boolean;
  /** Prepended to default topic names (environments sharing a cluster, tests). Default ''. */
  topicPrefix?: string;
  /** The dead-letter topic of a consumer group. Default `herald.dlq.<group>` after `topicPrefix`. */
  deadLetterTopicFor?: (group: string) => string;
  /** Create missing topics on publish / subscribe (`true`), or fail with `KafkaTopicMissingError` (`false`). Default true. */
  autoCreateTopics?: boolean;
  /** Partitions, replication and configs of the topics the transport creates, and topics to declare at start. */
  topics?: KafkaTopicOptions;
  /** Group membership, fetching, concurrency and offset commits of the subscriptions. */
  consumer?: KafkaConsumerOptions;
  /** Retries, timeout and compression of sends. */
  producer?: KafkaProducerOptions;
  /** Where the transport and kafkajs log. Default: core's console logger (warnings and errors). */
  logger?: Logger;
  /**
   * Fix kafkajs 2.2.4's idle busy loop (a 1 ms timer per connection; upstream
   * issues #1704, #1751) in this process' copy of kafkajs. Default true; set
   * false if you must run kafkajs unmodified.
   */
  fixKafkajsIdleLoop?: boolean;
}

/** Options with every default filled in. */
export interface ResolvedKafkaOptions {
  /** Bootstrap brokers as `host:port`, split and trimmed. */
  readonly brokers: string[];
  /** Client id. Default `herald`. */
  readonly clientId: string;
  /** TLS settings as given; undefined for plaintext. */
  readonly ssl: KafkaConfig['ssl'];
  /** SASL settings as given (they hold secrets: never log them); undefined without SASL. */
  readonly sasl: KafkaConfig['sasl'];
  /** Per-socket connect timeout (ms). Default 3 000. */
  readonly connectionTimeout: number;
  /** Per-request timeout (ms). Default 30 000. */
  readonly requestTimeout: number;
  /** Upper bound for `start()` (ms). Default 10 000. */
  readonly startTimeout: number;
  /** Upper bound for one `readDeadLetters()` call (ms). Default 15 000. */
  readonly readTimeout: number;
  /** The topic of an event name (the given function, or the default mapping after `topicPrefix`). */
  readonly topicFor: (eventName: string) => string;
  /** Whether records of event names a group does not handle are skipped (true) or dead-lettered as misrouted. */
  readonly sharedTopics: boolean;
  /** The dead-letter topic of a consumer group. Default `herald.dlq.<group>` after `topicPrefix`. */
  readonly deadLetterTopicFor: (group: string) => string;
  /** Whether missing topics are created (true) or fail with `KafkaTopicMissingError`. Default true. */
  readonly autoCreateTopics: boolean;
  /** Settings of created topics, every default filled in. */
  readonly topics: Required<Omit<KafkaTopicOptions, 'configEntries' | 'declare'>> & {
    /** Topic configs of created event topics; empty by default. */
    configEntries: Record<string, string>;
    /** Event names whose topics `start()` creates or checks; empty by default. */
    declare: readonly string[];
  };
  /** Consumer settings, every default filled in. */
  readonly consumer: Required<KafkaConsumerOptions>;
  /** Producer settings, every default filled in. */
  readonly producer: Required<Omit<KafkaProducerOptions, 'compression'>> & {
    /** Record batch compression; undefined for none. */
    compression: CompressionTypes | undefined;
  };
  /** The operator's logger, wrapped so SASL secrets never reach it. */
  readonly logger: Logger;
  /** Whether kafkajs' idle busy loop is patched in this process. Default true. */
  readonly fixKafkajsIdleLoop: boolean;
  /** SASL password, AWS secret key or session token: redacted from every error and log line. */
  readonly secrets: readonly string[];
}

/** The secret strings of a kafkajs SASL config, whatever its mechanism. */
function saslSecrets(sasl: KafkaConfig['sasl']): string[] {
  if (!sasl || typeof sasl !== 'object') return [];
  const fields = sasl as unknown as Record<string, unknown>;
  return ['password', 'secretAccessKey', 'sessionToken']
    .map((field) => fields[field])
    .filter((value): value is string => typeof value === 'string' && value.length > 0);
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new ConfigurationError(`kafkaTransport: "${name}" must be a number ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function flag(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new ConfigurationError(`kafkaTransport: "${name}" must be true or false, got ${typeof value}`);
  }
  return value;
}

/** Checks the options and fills in defaults; bad values throw `ConfigurationError`. */
export function resolveOptions(options: KafkaTransportOptions): ResolvedKafkaOptions {
  if (!options || typeof options !== 'object')
    throw new ConfigurationError('kafkaTransport() expects options with brokers');
  const brokers = (typeof options.brokers === 'string' ? options.brokers.split(',') : (options.brokers ?? []))
    .map((broker) => String(broker).trim())
    .filter((broker) => broker.length > 0);
  if (brokers.length === 0)
    throw new ConfigurationError('kafkaTransport: "brokers" must name at least one host:port');
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d+$/.test(broker) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(broker)) {
      // Never echo userinfo: "user:password@host:9092" is a common mistake.
      const at = broker.lastIndexOf('@');
      const shown = at >= 0 ? `***@${broker.slice(at + 1)}` : broker;
      throw new ConfigurationError(
        `kafkaTransport: broker "${shown}" is not host:port` +
          (at >= 0 ? ' (credentials belong in the "sasl" option)' : ''),
      );
    }
  }
  const prefix = options.topicPrefix ?? '';
  const topicFor = options.topicFor ?? ((eventName: string) => defaultTopicFor(`${prefix}${eventName}`));
  const deadLetterTopicFor =
    options.deadLetterTopicFor ??
    ((group: string) =>
      prefix
        ? kafkaTopicName(`${prefix}${defaultDeadLetterTopicFor(group)}`)
        : defaultDeadLetterTopicFor(group));

  const consumer = options.consumer ?? {};
  const sessionTimeout = positive('consumer.sessionTimeout', consumer.sessionTimeout, 30_000);
  const rebalanceTimeout = positive('consumer.rebalanceTimeout', consumer.rebalanceTimeout, 60_000);
  const heartbeatInterval = positive(
    'consumer.heartbeatInterval',
    consumer.heartbeatInterval,
    Math.min(3_000, Math.floor(sessionTimeout / 3)),
  );
  if (heartbeatInterval >= sessionTimeout) {
    throw new ConfigurationError(
      'kafkaTransport: "consumer.heartbeatInterval" must be lower than "consumer.sessionTimeout"',
    );
  }
  const producer = options.producer ?? {};
  const topics = options.topics ?? {};
  const replicationFactor = topics.replicationFactor ?? -1;
  if (!Number.isInteger(replicationFactor) || (replicationFactor < 1 && replicationFactor !== -1)) {
    throw new ConfigurationError(
      'kafkaTransport: "topics.replicationFactor" must be -1 (broker default) or ≥ 1',
    );
  }
  return {
    brokers,
    clientId: options.clientId ?? 'herald',
    ssl: options.ssl,
    sasl: options.sasl,
    connectionTimeout: positive('connectionTimeout', options.connectionTimeout, 3_000),
    requestTimeout: positive('requestTimeout', options.requestTimeout, 30_000),
    startTimeout: positive('startTimeout', options.startTimeout, 10_000),
    readTimeout: positive('readTimeout', options.readTimeout, 15_000),
    topicFor,
    sharedTopics: flag('sharedTopics', options.sharedTopics, options.topicFor !== undefined),
    deadLetterTopicFor,
    autoCreateTopics: options.autoCreateTopics ?? true,
    topics: {
      numPartitions: Math.floor(positive('topics.numPartitions', topics.numPartitions, 3)),
      replicationFactor,
      configEntries: { ...(topics.configEntries ?? {}) },
      deadLetterPartitions: Math.floor(
        positive('topics.deadLetterPartitions', topics.deadLetterPartitions, 1),
      ),
      declare: [...(topics.declare ?? [])],
    },
    consumer: {
      sessionTimeout,
      rebalanceTimeout,
      heartbeatInterval,
      maxWaitTimeInMs: positive('consumer.maxWaitTimeInMs', consumer.maxWaitTimeInMs, 1_000, 0),
      metadataMaxAge: positive('consumer.metadataMaxAge', consumer.metadataMaxAge, 300_000, 0),
      maxBytesPerPartition: positive(
        'consumer.maxBytesPerPartition',
        consumer.maxBytesPerPartition,
        1024 * 1024,
      ),
      partitionsConsumedConcurrently: Math.floor(
        positive('consumer.partitionsConsumedConcurrently', consumer.partitionsConsumedConcurrently, 4),
      ),
      concurrency: Math.floor(positive('consumer.concurrency', consumer.concurrency, 256)),
      autoCommitInterval: positive('consumer.autoCommitInterval', consumer.autoCommitInterval, 1_000),
      autoCommitThreshold: Math.floor(
        positive('consumer.autoCommitThreshold', consumer.autoCommitThreshold, 100),
      ),
      fromBeginning: consumer.fromBeginning ?? true,
      joinTimeout: positive('consumer.joinTimeout', consumer.joinTimeout, rebalanceTimeout + 10_000),
    },
    producer: {
      retry: producer.retry ?? { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
      timeout: positive('producer.timeout', producer.timeout, 30_000),
      compression: producer.compression,
      metadataMaxAge: positive('producer.metadataMaxAge', producer.metadataMaxAge, 300_000, 0),
    },
    logger: redactingLogger(options.logger ?? consoleLogger(), saslSecrets(options.sasl)),
    fixKafkajsIdleLoop: options.fixKafkajsIdleLoop ?? true,
    secrets: saslSecrets(options.sasl),
  };
}
