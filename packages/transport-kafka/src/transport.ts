import {
  type DeadLetter,
  type DeliveryHandler,
  describeError,
  HeraldError,
  type PublishOutcome,
  redactError,
  redactSecrets,
  type Subscription,
  type SubscriptionHandle,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportNaming,
  type WireMessage,
} from '@herald/core';
import { type Admin, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { KafkaSubscription } from './consumer.js';
import { type DeadLetterSource, deadLetterRecord, readDeadLetterTopic } from './dead-letters.js';
import { asTransportError, isSaslFailure, KafkaBrokerUnreachableError } from './errors.js';
import { RenewableProducer } from './idempotent-producer.js';
import { fixKafkajsIdleLoop } from './kafkajs-idle-fix.js';
import { kafkajsLogCreator } from './kafkajs-logger.js';
import { type KafkaTransportOptions, type ResolvedKafkaOptions, resolveOptions } from './options.js';
import { publishBatch } from './publisher.js';
import { kafkaNaming, TopicManager } from './topology.js';

/**
 * Herald's {@link Transport} on Apache Kafka through kafkajs: one topic per
 * event name (or `topicFor`), the ordering key as record key, one consumer
 * group per subscription group, an idempotent producer writing with
 * `acks = -1`, pause-based redelivery and a dead-letter topic per group.
 */
export interface KafkaTransport extends Transport {
  readonly name: 'kafka';
  /** The options with defaults applied. */
  readonly options: ResolvedKafkaOptions;
  readDeadLetters(group: string, limit: number): Promise<DeadLetter[]>;
  health(): Promise<{
    /** True when the cluster answered a metadata request within `connectionTimeout`. */
    connected: boolean;
    /** The brokers and controller when connected; else the transport's state or the (redacted) error. */
    detail?: string;
  }>;
  /** Topics and consumer groups as this transport names them (read by `@herald/contracts`). */
  readonly naming: TransportNaming;
}

/**
 * A Herald `Transport` on Apache Kafka (kafkajs). Pass it to the
 * builder, the one plugin mechanism of Herald:
 *
 * ```ts
 * const bus = createIntegrationEventBus({ service: 'billing' })
 *   .useTransport(kafkaTransport({ brokers: ['127.0.0.1:9092'], clientId: 'billing' }))
 *   .handle(OrderPlaced, async (event) => { … })
 *   .build();
 * ```
 *
 * Options are checked at once (`ConfigurationError`); nothing connects until
 * `bus.start()` calls `transport.start()`.
 */
export function kafkaTransport(options: KafkaTransportOptions): KafkaTransport {
  return new KafkajsTransport(resolveOptions(options));
}

class KafkajsTransport implements KafkaTransport {
  readonly name = 'kafka' as const;
  readonly capabilities: TransportCapabilities = {
    orderedByKey: true,
    persistent: true,
    deadLetter: true,
    batchPublish: true,
    delayedRedelivery: true,
    consumerGroups: true,
  };
  readonly options: ResolvedKafkaOptions;
  /** Topics and consumer groups as this transport names them (read by `@herald/contracts`). */
  readonly naming: TransportNaming;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #producer: RenewableProducer;
  readonly #topics: TopicManager;
  readonly #subscriptions = new Set<KafkaSubscription>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #state: 'created' | 'starting' | 'started' | 'stopping' | 'stopped' = 'created';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: ResolvedKafkaOptions) {
    this.options = options;
    this.naming = kafkaNaming(options);
    if (options.fixKafkajsIdleLoop && !fixKafkajsIdleLoop()) {
      options.logger.warn(
        'Could not apply the kafkajs idle-loop fix: this kafkajs is not the expected 2.2.x',
      );
    }
    this.#kafka = new Kafka({
      brokers: options.brokers,
      clientId: options.clientId,
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      ...(options.sasl !== undefined ? { sasl: options.sasl } : {}),
      connectionTimeout: options.connectionTimeout,
      requestTimeout: options.requestTimeout,
      // Bounded, so start() and admin calls fail within seconds when the cluster is away.
      retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 5 },
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(options.logger),
    });
    this.#admin = this.#kafka.admin({ retry: { initialRetryTime: 100, maxRetryTime: 1_000, retries: 5 } });
    this.#producer = new RenewableProducer(() => this.#createProducer(), options.logger);
    this.#topics = new TopicManager(this.#admin, options);
  }

  /** An idempotent producer as this transport configures it (also the replacement after a lost state). */
  #createProducer(): Producer {
    return this.#kafka.producer({
      idempotent: true,
      // One request in flight per broker: a retried batch can never be overtaken by a later one.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: this.options.producer.retry,
      metadataMaxAge: this.options.producer.metadataMaxAge,
      // Java-compatible murmur2 on the key: the same key lands on the same partition from any client.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  /** Connects the admin client and the producer; rejects with `KafkaBrokerUnreachableError` after `startTimeout`. */
  start(): Promise<void> {
    if (this.#state === 'started') return Promise.resolve();
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      return Promise.reject(
        new TransportError('The Kafka transport was stopped; create a new one', { retriable: false }),
      );
    }
    this.#starting ??= this.#start()
      .catch((error: unknown) => {
        throw redactError(error, this.options.secrets);
      })
      .finally(() => {
        this.#starting = undefined;
      });
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    const connecting = (async () => {
      await this.#admin.connect();
      await this.#admin.describeCluster();
      await this.#producer.ready();
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.startTimeout);
    });
    try {
      const result = await Promise.race([connecting.then(() => 'connected' as const), timeout]);
      if (result === 'timeout')
        throw new KafkaBrokerUnreachableError(this.options.brokers, this.options.startTimeout);
      const declared = this.options.topics.declare.map((name) => this.options.topicFor(name));
      await this.#topics.ensure(declared, 'event').catch((error: unknown) => {
        throw asTransportError(error, 'checking the declared topics');
      });
      this.#state = 'started';
    } catch (error) {
      connecting.catch(() => undefined); // may still settle after the timeout
      this.#state = 'created';
      await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
      if (error instanceof HeraldError) throw error;
      if (isSaslFailure(error)) {
        throw new TransportError(`Kafka authentication failed: ${describeError(error)}`, {
          cause: error,
          retriable: false,
        });
      }
      throw new KafkaBrokerUnreachableError(this.options.brokers, this.options.startTimeout, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends the messages in one `sendBatch` (grouped by topic, array order kept
   * per topic) with the idempotent producer and `acks = -1`, and resolves
   * once the broker confirmed them. A topic that is missing (and may not be
   * created) fails only its own messages.
   */
  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    if (this.#state !== 'started') {
      throw new TransportError(`The Kafka transport is not started (state: ${this.#state})`, {
        retriable: true,
      });
    }
    if (messages.length === 0) return [];
    const work = publishBatch(this.#producer, this.#topics, this.options, messages);
    this.#inFlight.add(work);
    try {
      return await work;
    } finally {
      this.#inFlight.delete(work);
    }
  }

  /** Joins the consumer group `subscription.group`; resolves once partitions are assigned. */
  async subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    if (this.#state !== 'started') {
      throw new TransportError(`The Kafka transport is not started (state: ${this.#state})`, {
        retriable: true,
      });
    }
    if (subscription.eventNames.length === 0) {
      throw new TransportError(`Subscription of group "${subscription.group}" names no events`, {
        retriable: false,
      });
    }
    let member: KafkaSubscription;
    try {
      member = await KafkaSubscription.open(subscription, handler, {
        kafka: this.#kafka,
        options: this.options,
        topics: this.#topics,
        logger: this.options.logger,
        deadLetter: (source, reason) => this.#deadLetter(source, reason),
      });
    } catch (error) {
      throw asTransportError(error, `subscribing group "${subscription.group}"`);
    }
    this.#subscriptions.add(member);
    return {
      close: async () => {
        this.#subscriptions.delete(member);
        await member.close();
      },
    };
  }

  async #deadLetter(source: DeadLetterSource, reason: string): Promise<void> {
    const topic = this.options.deadLetterTopicFor(source.group);
    await this.#topics.ensure([topic], 'dead-letter');
    await this.#producer.send((producer) =>
      producer.send({
        topic,
        acks: -1,
        timeout: this.options.producer.timeout,
        messages: [deadLetterRecord(source, reason)],
      }),
    );
  }

  /**
   * Reads up to `limit` dead letters of `group` from its dead-letter topic,
   * oldest first: the original headers and body, and the reason.
   */
  async readDeadLetters(group: string, limit: number): Promise<DeadLetter[]> {
    if (this.#state !== 'started') {
      throw new TransportError(`The Kafka transport is not started (state: ${this.#state})`, {
        retriable: true,
      });
    }
    const topic = this.options.deadLetterTopicFor(group);
    try {
      if (!(await this.#admin.listTopics()).includes(topic)) return [];
      return await readDeadLetterTopic(this.#kafka, this.#admin, topic, limit, {
        timeoutMs: this.options.readTimeout,
        logger: this.options.logger,
      });
    } catch (error) {
      throw asTransportError(error, `reading dead letters of group "${group}"`);
    }
  }

  /**
   * Whether the cluster answers right now (health probes): a metadata round
   * trip bounded by `connectionTimeout`, naming the brokers and the controller.
   */
  async health(): Promise<{ connected: boolean; detail?: string }> {
    if (this.#state !== 'started') return { connected: false, detail: `transport ${this.#state}` };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.options.connectionTimeout} ms`)),
        this.options.connectionTimeout,
      );
    });
    try {
      const cluster = await Promise.race([this.#admin.describeCluster(), timeout]);
      const brokers = cluster.brokers.map((broker) => `${broker.host}:${broker.port}`).join(', ');
      return { connected: true, detail: `brokers ${brokers}; controller ${cluster.controller ?? 'unknown'}` };
    } catch (error) {
      return { connected: false, detail: redactSecrets(describeError(error), this.options.secrets) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes every subscription (waiting for records in hand), waits for publishes in flight and disconnects. */
  stop(): Promise<void> {
    if (this.#state === 'created' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    this.#state = 'stopping';
    const members = [...this.#subscriptions];
    this.#subscriptions.clear();
    const closed = await Promise.allSettled(members.map((member) => member.close()));
    for (const result of closed) {
      if (result.status === 'rejected')
        this.options.logger.warn('A Kafka consumer did not close cleanly', { error: result.reason });
    }
    await Promise.allSettled([...this.#inFlight]);
    await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
    this.#state = 'stopped';
  }
}
