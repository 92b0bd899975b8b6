import {
  type DeadLetter,
  type DeliveryHandler,
  describeError,
  type PublishOutcome,
  redactError,
  type Subscription,
  type SubscriptionHandle,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportNaming,
  type WireMessage,
} from '@herald/core';
import { ConnectionManager } from './connection.js';
import { type ConsumerMetrics, GroupConsumer } from './consumer.js';
import { readDeadLetterQueue } from './dead-letters.js';
import { toAmqp } from './native-mapping.js';
import { type RabbitMqTransportOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { ConfirmPublisher, type Outgoing, type PublisherMetrics } from './publisher.js';
import { Topology } from './topology.js';

/** A snapshot of the transport's counters. */
export interface RabbitMqMetrics {
  /** Counters of the confirm-mode publish pipeline. */
  readonly publisher: Readonly<PublisherMetrics>;
  /** Per consumer group (summed over this transport's subscriptions of the group). */
  readonly consumers: Readonly<Record<string, Readonly<ConsumerMetrics>>>;
  /** Successful reconnects since start. */
  readonly reconnects: number;
}

/**
 * Herald's RabbitMQ transport (see the package README for the topology and
 * the guarantees): core's {@link Transport} port plus what operators and
 * tests read of it. Create it with {@link rabbitMqTransport}.
 */
export interface RabbitMqTransport extends Transport {
  readonly name: 'rabbitmq';
  /** The options with defaults applied. */
  readonly options: ResolvedOptions;
  /** Names of the exchange and of each group's queues. */
  readonly topology: Topology;
  readDeadLetters(group: string, limit: number): Promise<DeadLetter[]>;
  whenIdle(): Promise<void>;
  health(): Promise<{
    /** True when the transport runs with an open connection, a publish channel and every subscription consuming. */
    readonly connected: boolean;
    /** Why it is not connected (state, reconnect cause, reopening channel or idle group); absent when connected. */
    readonly detail?: string;
  }>;
  /** Counters of the publish pipeline and consumers (for operators and tests). */
  metrics(): RabbitMqMetrics;
  /** Exchange, routing keys and queues as this transport names them (read by `@herald/contracts`). */
  readonly naming: TransportNaming;
}

/**
 * Creates the RabbitMQ transport; pass it to `builder.useTransport(…)`.
 * Options are validated at once (`ConfigurationError`); nothing connects
 * until the bus starts.
 */
export function rabbitMqTransport(options: RabbitMqTransportOptions): RabbitMqTransport {
  return new AmqpTransport(options);
}

class AmqpTransport implements RabbitMqTransport {
  readonly name = 'rabbitmq' as const;
  readonly capabilities: TransportCapabilities;
  /** The options with defaults applied. */
  readonly options: ResolvedOptions;
  readonly topology: Topology;
  /** Exchange, routing keys and queues as this transport names them (read by `@herald/contracts`). */
  readonly naming: TransportNaming;
  readonly #connection: ConnectionManager;
  readonly #publisher: ConfirmPublisher;
  readonly #consumers = new Set<GroupConsumer>();
  #state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';
  #unregisterPublisher: (() => void) | undefined;

  constructor(options: RabbitMqTransportOptions) {
    this.options = resolveOptions(options);
    this.topology = new Topology(this.options);
    this.naming = this.topology.naming;
    this.#connection = new ConnectionManager(this.options);
    this.#publisher = new ConfirmPublisher(this.options, this.#connection);
    this.capabilities = {
      orderedByKey: this.options.singleActiveConsumer,
      persistent: true,
      deadLetter: true,
      batchPublish: true,
      delayedRedelivery: true,
      consumerGroups: true,
    };
  }

  /** Connects (retrying for up to `connectTimeoutMs`) and declares the exchange. */
  async start(): Promise<void> {
    if (this.#state === 'running') return;
    if (this.#state !== 'created' && this.#state !== 'stopped')
      throw new TransportError(`Cannot start the RabbitMQ transport while ${this.#state}`, {
        retriable: false,
      });
    this.#publisher.resume();
    // The publisher's channel first: consumers' retry copies go through it.
    this.#unregisterPublisher = this.#connection.onSession(async (session) => {
      await this.#publisher.attach(session);
      const setup = await session.model.createChannel();
      setup.on('error', () => undefined);
      try {
        await this.topology.declareExchange(setup);
      } finally {
        await setup.close().catch(() => undefined);
      }
    });
    try {
      await this.#connection.start();
    } catch (error) {
      this.#unregisterPublisher();
      await this.#connection.stop();
      throw redactError(error, this.options.secrets);
    }
    this.#state = 'running';
  }

  /**
   * Publishes with publisher confirms through a window (see README): resolves
   * once the broker confirmed or refused every message, one outcome each, in
   * input order. During an outage it waits up to `publishTimeoutMs` for the
   * connection; if none comes it rejects with a retriable `TransportError`.
   */
  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    if (this.#state !== 'running') {
      throw new TransportError(`The RabbitMQ transport is not running (${this.#state})`, {
        retriable: this.#state === 'created',
      });
    }
    const outgoing: Array<Outgoing | Error> = messages.map((message) => {
      try {
        const { content, options } = toAmqp(message);
        return {
          exchange: this.options.exchange,
          routingKey: message.name,
          content,
          options,
          orderingKey: message.orderingKey,
        };
      } catch (error) {
        return new TransportError(
          `Message ${message.id} cannot be encoded for RabbitMQ: ${describeError(error)}`,
          { cause: error, retriable: false },
        );
      }
    });
    const sendable = outgoing.filter((item): item is Outgoing => !(item instanceof Error));
    const confirmations = await this.#publisher.publish(sendable);
    let next = 0;
    return messages.map((message, index) => {
      const item = outgoing[index]!;
      if (item instanceof Error) return { id: message.id, ok: false, error: item };
      const confirmation = confirmations[next++]!;
      return confirmation.ok
        ? { id: message.id, ok: true }
        : { id: message.id, ok: false, error: confirmation.error };
    });
  }

  /**
   * Declares the group's queue (bound to each event name), retry tier queues
   * and dead-letter queue, then consumes with manual acks. Rejects with a
   * `TransportError` if the queues exist with incompatible settings.
   */
  async subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    if (this.#state !== 'running')
      throw new TransportError(`The RabbitMQ transport is not running (${this.#state})`, {
        retriable: false,
      });
    const consumer = new GroupConsumer({
      options: this.options,
      connection: this.#connection,
      topology: this.topology,
      publisher: this.#publisher,
      group: subscription.group,
      eventNames: [...subscription.eventNames],
      handler,
    });
    await consumer.start();
    this.#consumers.add(consumer);
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= consumer.close().finally(() => this.#consumers.delete(consumer));
        return closing;
      },
    };
  }

  /**
   * Reads up to `limit` messages of the group's dead-letter queue without
   * removing them: basic.get on a private channel, holding every message
   * unacknowledged until done, then nack with requeue — the messages return
   * to the queue in their order. Concurrent consumers of the DLQ (none by
   * default) would not see the held messages meanwhile.
   */
  async readDeadLetters(group: string, limit: number): Promise<DeadLetter[]> {
    const session = await this.#connection.whenOpen(this.options.publishTimeoutMs);
    return readDeadLetterQueue(session, group, this.topology.queuesOf(group).deadLetter, limit);
  }

  /** Resolves when no delivery of this process is being handled or held for a retry, and no publish awaits a confirm. */
  async whenIdle(): Promise<void> {
    await Promise.all([...this.#consumers].map((consumer) => consumer.whenIdle()));
    await this.#publisher.whenIdle();
  }

  /** Connected means: an open connection with a publish channel, and every subscription consuming. */
  async health(): Promise<{ readonly connected: boolean; readonly detail?: string }> {
    if (this.#state !== 'running') return { connected: false, detail: `transport ${this.#state}` };
    if (!this.#connection.current) {
      const cause = this.#connection.lastError;
      return {
        connected: false,
        detail: `reconnecting to RabbitMQ${cause ? `: ${describeError(cause)}` : ''}`,
      };
    }
    if (!this.#publisher.ready) return { connected: false, detail: 'publish channel is reopening' };
    const idle = [...this.#consumers]
      .filter((consumer) => !consumer.consuming)
      .map((consumer) => consumer.group);
    if (idle.length > 0) return { connected: false, detail: `not consuming: ${idle.join(', ')}` };
    return { connected: true };
  }

  /** Counters of the publish pipeline and consumers (for operators and tests). */
  metrics(): RabbitMqMetrics {
    const consumers: Record<string, ConsumerMetrics> = {};
    for (const consumer of this.#consumers) {
      consumers[consumer.group] ??= {
        delivered: 0,
        acked: 0,
        retried: 0,
        deadLettered: 0,
        requeued: 0,
        ackFrames: 0,
      };
      const sum = consumers[consumer.group]!;
      for (const key of Object.keys(sum) as Array<keyof ConsumerMetrics>) sum[key] += consumer.metrics[key];
    }
    return { publisher: { ...this.#publisher.metrics }, consumers, reconnects: this.#connection.reconnects };
  }

  /** Closes subscriptions (waiting for in-flight deliveries), waits for pending confirms, disconnects. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    await Promise.allSettled([...this.#consumers].map((consumer) => consumer.close()));
    this.#consumers.clear();
    await this.#publisher.stop();
    this.#unregisterPublisher?.();
    await this.#connection.stop();
    this.#state = 'stopped';
  }
}
