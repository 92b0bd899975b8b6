import type { WireMessage } from '../wire.js';

/**
 * What a transport can promise. The testkit conformance suite reads these to
 * decide which guarantees to check, and core reads them to pick its strategy.
 */
export interface TransportCapabilities {
  /** Messages with the same ordering key reach a consumer group in publish order, one at a time. */
  readonly orderedByKey: boolean;
  /** Messages survive a restart of the broker and of the consumer process. */
  readonly persistent: boolean;
  /** Rejected messages are kept in a dead-letter store with the reason. */
  readonly deadLetter: boolean;
  /** `publish` sends many messages in one round trip (or a windowed pipeline). */
  readonly batchPublish: boolean;
  /** `retry` dispositions are honoured with the requested delay (otherwise: as soon as possible). */
  readonly delayedRedelivery: boolean;
  /** Members of one consumer group share the messages (each message goes to one member). */
  readonly consumerGroups: boolean;
}

/** The broker's verdict on one published message. */
export type PublishOutcome =
  | { readonly id: string; readonly ok: true }
  | { readonly id: string; readonly ok: false; readonly error: unknown };

/** One delivery handed to core by a transport. */
export interface IncomingMessage {
  /** Exactly the headers the publisher's `WireMessage` carried. */
  readonly headers: Readonly<Record<string, string>>;
  /** Exactly the body the publisher's `WireMessage` carried. */
  readonly body: Uint8Array;
  /** 1 on first delivery; higher when the transport knows this is a redelivery. */
  readonly deliveryAttempt: number;
  /**
   * True when the broker channel this came from carries other event names by
   * design (for example a custom topic mapping shared by several groups). Core
   * then skips (acknowledges, counts and logs at debug level) a name this group
   * has no handler for, instead of dead-lettering it as foreign or misrouted.
   * Absent or false: the channel carries only the subscribed names.
   */
  readonly channelShared?: boolean;
}

/** What core decided for a delivery; the transport carries it out. */
export type Disposition =
  /** Handled (or safely recorded): remove it from the broker. */
  | { readonly kind: 'ack' }
  /** Deliver it again after `delayMs` (transient trouble such as a store outage, or a busy inbox entry). */
  | { readonly kind: 'retry'; readonly delayMs: number; readonly reason: string }
  /** Never deliver again: move it to the dead-letter store with the reason. */
  | { readonly kind: 'dead-letter'; readonly reason: string };

/** Messages of these event names, shared by the members of `group`. */
export interface Subscription {
  /** Consumer group: `service` or `service.group`. One queue / consumer group / subscription each. */
  readonly group: string;
  readonly eventNames: readonly string[];
}

/**
 * Called for each delivery. Core's handler never rejects; a transport that
 * sees a rejection anyway must treat it as `retry`.
 */
export type DeliveryHandler = (message: IncomingMessage) => Promise<Disposition>;

/** A running subscription. */
export interface SubscriptionHandle {
  /** Stops new deliveries and resolves when in-flight deliveries have been disposed. */
  close(): Promise<void>;
}

/** A dead-lettered message as the transport stores it (for tests and operators). */
export interface DeadLetter {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly reason: string;
}

/** Where an event of one name travels on a broker (see {@link TransportNaming}). */
export interface ChannelNaming {
  /** What publishers address: the Kafka topic, the RabbitMQ routing key, the Service Bus topic. */
  readonly address: string;
  /** The exchange the address is a routing key on (RabbitMQ). */
  readonly exchange?: string;
  /** The message property consumers filter this event by inside `address` (Service Bus `subject`). */
  readonly subject?: string;
}

/** What a consumer group reads from on a broker (see {@link TransportNaming}). */
export interface ConsumerNaming {
  /** The RabbitMQ queue, Kafka consumer group id or Service Bus subscription. */
  readonly name: string;
  readonly kind: 'queue' | 'consumer-group' | 'subscription';
  /** Where the group's dead letters go (queue, topic or sub-queue), when it has a name. */
  readonly deadLetter?: string;
}

/**
 * How a transport names broker objects, computed from its options with no I/O.
 * Contract exports (`@herald/contracts`) and documentation read it, so the
 * names they show are the transport's own, never a copy of its rules.
 */
export interface TransportNaming {
  /** The protocol as AsyncAPI names it: `kafka`, `amqp`, `sbmq`, `in-process`… */
  readonly protocol: string;
  /** Where an event of this name is published. */
  channel(eventName: string): ChannelNaming;
  /** What a consumer group (`service` or `service.group`) reads from. */
  consumer(group: string): ConsumerNaming;
}

/**
 * The port every message broker adapter implements. Transports translate;
 * retries, ordering, dedup and dead-letter decisions live in core.
 */
export interface Transport {
  /** Short engine name for logs, e.g. `rabbitmq`. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** Connects. Called once by `bus.start()` before any publish or subscribe. */
  start(): Promise<void>;
  /**
   * Sends the messages and resolves once the broker has confirmed each one,
   * with one outcome per message in input order. Messages with the same
   * ordering key are sent in array order. Rejects only when nothing could be
   * attempted (then every message counts as failed).
   */
  publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]>;
  /** Starts delivering messages of the subscription to `handler`. */
  subscribe(subscription: Subscription, handler: DeliveryHandler): Promise<SubscriptionHandle>;
  /** Reads dead-lettered messages of a group (optional; used by tests and the operations console). */
  readDeadLetters?(group: string, limit: number): Promise<DeadLetter[]>;
  /**
   * Resolves when the transport has nothing in flight that this process could
   * still deliver (in-process brokers; used by `bus.drain()`). Optional.
   */
  whenIdle?(): Promise<void>;
  /** Whether the broker connection is up right now (health probes); assumed up when absent. */
  health?(): Promise<{ readonly connected: boolean; readonly detail?: string }>;
  /** Closes subscriptions and connections; resolves when nothing is in flight. */
  stop(): Promise<void>;
  /** How this transport names topics, exchanges and queues (contracts, docs). Optional; no I/O. */
  readonly naming?: TransportNaming;
}
