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
  | {
      /** The message's id (`WireMessage.id`). */
      readonly id: string;
      /** The broker confirmed the message. */
      readonly ok: true;
    }
  | {
      /** The message's id (`WireMessage.id`). */
      readonly id: string;
      /** The broker refused the message, or its confirmation was lost: the outbox retries it. */
      readonly ok: false;
      /** Why: the transport's error (a `TransportError` whose `retriable` says whether retrying can help). */
      readonly error: unknown;
    };

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
  | {
      /** Remove the delivery. */
      readonly kind: 'ack';
    }
  /** Deliver it again after `delayMs` (transient trouble such as a store outage, or a busy inbox entry). */
  | {
      /** Deliver the message again later. */
      readonly kind: 'retry';
      /** How long to wait before the redelivery (ms); a transport may round it to a delay tier it has. */
      readonly delayMs: number;
      /** Why it must be retried (for logs). */
      readonly reason: string;
    }
  /** Never deliver again: move it to the dead-letter store with the reason. */
  | {
      /** Move the message to the dead-letter store. */
      readonly kind: 'dead-letter';
      /** Why it was rejected; stored with the dead letter for operators. */
      readonly reason: string;
    };

/** Messages of these event names, shared by the members of `group`. */
export interface Subscription {
  /** Consumer group: `service` or `service.group`. One queue / consumer group / subscription each. */
  readonly group: string;
  /** The event names the group handles: the transport routes these (and only these) to it. */
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
  /** The original message's wire headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** The original message's body. */
  readonly body: Uint8Array;
  /** Why it was dead-lettered (the disposition's reason). */
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
  /** What `name` is: a queue (RabbitMQ, in-process), a consumer group id (Kafka) or a topic subscription (Service Bus). */
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
  /** The guarantees this transport gives (ordering, persistence, dead letters, …); fixed for its lifetime. */
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
  health?(): Promise<{
    /** True when the transport can publish and receive right now. */
    readonly connected: boolean;
    /** Why not connected (or what it is connected to); free text without secrets. Optional. */
    readonly detail?: string;
  }>;
  /** Closes subscriptions and connections; resolves when nothing is in flight. */
  stop(): Promise<void>;
  /** How this transport names topics, exchanges and queues (contracts, docs). Optional; no I/O. */
  readonly naming?: TransportNaming;
}
