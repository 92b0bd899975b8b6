import type { ChannelNaming, ConsumerNaming } from '@herald/core';
import type { JsonSchema } from './json-schema.js';

/** The AsyncAPI version of the exported documents. */
export const ASYNCAPI_VERSION = '3.0.0';

/** What a message's `x-herald-event` says about the event (read back by `checkContracts`). */
export interface HeraldEventInfo {
  /** The event's name. */
  readonly name: string;
  /** The current payload version. */
  readonly version: number;
  /** Versions with an upcaster to the next one (`n` lifts `n` → `n + 1`). */
  readonly upcasters: readonly number[];
  /** `json-schema`: `payload` is the event's schema; `none`: the event declares none; `unconvertible`: see `reason`. */
  readonly schema: 'json-schema' | 'none' | 'unconvertible';
  /** The schema library (`zod`, `valibot`, …). */
  readonly vendor?: string;
  /** Only when `schema` is `unconvertible`: why no JSON Schema could be written (no converter, or its error). */
  readonly reason?: string;
}

/** A message of an exported document. */
export interface ContractMessage {
  /** The event's name. */
  readonly name: string;
  /** The event's name and current version (`order-placed v2`). */
  readonly title: string;
  /** A sentence on how the payload is described, its version and its upcasters. */
  readonly summary: string;
  /** The body's media type: `application/json`. */
  readonly contentType: string;
  /**
   * The payload's JSON Schema (the input side of the event's schema); for an event without one,
   * or one that could not be converted, a schema holding only a `description` that says so.
   */
  readonly payload: JsonSchema;
  /** References to the shared traits: the envelope headers (`#/components/messageTraits/HeraldEnvelope`). */
  readonly traits: readonly {
    /** JSON pointer to the trait within the document. */
    readonly $ref: string;
  }[];
  /** What Herald knows of the event beyond AsyncAPI: version, upcasters, schema kind and vendor. */
  readonly 'x-herald-event': HeraldEventInfo;
  readonly [key: string]: unknown;
}

/** A channel of an exported document: one per event. */
export interface ContractChannel {
  /** Where the event travels, as the transport names it (Kafka topic, RabbitMQ routing key, Service Bus topic, or the event name). */
  readonly address: string;
  /** The event's name. */
  readonly title: string;
  /** The event's one message, keyed by the channel's key. */
  readonly messages: Readonly<Record<string, ContractMessage>>;
  /** AsyncAPI protocol bindings (Kafka topic, AMQP exchange); absent for protocols AsyncAPI has none for. */
  readonly bindings?: Readonly<Record<string, unknown>>;
  /** The transport's own naming of the channel (address, exchange, …). */
  readonly 'x-herald-channel': ChannelNaming;
}

/** An operation: this service sends an event, or one of its handlers receives it. */
export interface ContractOperation {
  /** `send`: the service publishes the event; `receive`: one of its handlers handles it. */
  readonly action: 'send' | 'receive';
  /** The event's channel. */
  readonly channel: {
    /** JSON pointer to the channel within the document (`#/channels/<key>`). */
    readonly $ref: string;
  };
  /** The event's message. */
  readonly messages: readonly {
    /** JSON pointer to the message within the document (`#/channels/<key>/messages/<key>`). */
    readonly $ref: string;
  }[];
  /** Who publishes or handles the event, in one sentence. */
  readonly summary: string;
  /** AsyncAPI protocol bindings (the Kafka consumer group id of a receive operation); absent otherwise. */
  readonly bindings?: Readonly<Record<string, unknown>>;
  /** The event's name. */
  readonly 'x-herald-event': string;
  /** Receive operations: the handler and its consumer group. */
  readonly 'x-herald-handler'?: {
    /** The handler's stable name. */
    readonly name: string;
    /** The consumer group it receives through. */
    readonly group: string;
  };
  /** Receive operations: what the group reads from on the broker. */
  readonly 'x-herald-consumer'?: ConsumerNaming;
}

/** An AsyncAPI 3.0 document as `exportContracts` writes it (plain JSON: commit it as a snapshot). */
export interface ContractDocument {
  /** The AsyncAPI version the document follows ({@link ASYNCAPI_VERSION}). */
  readonly asyncapi: string;
  /** About the service. */
  readonly info: {
    /** Title; default the service name ({@link ExportOptions.title}). */
    readonly title: string;
    /** The release of the service the contract describes; default `1.0.0` ({@link ExportOptions.version}). */
    readonly version: string;
    /** Free text, when {@link ExportOptions.description} gives one. */
    readonly description?: string;
    /** The service's name: the bus's `service` (what the check and the catalog key by). */
    readonly 'x-herald-service': string;
    /** The transport the names in `channels` come from. */
    readonly 'x-herald-transport': {
      /** The transport's name; `in-process` when the bus has none. */
      readonly name: string;
      /** Its protocol (`kafka`, `amqp`, …), which decides the bindings. */
      readonly protocol: string;
    };
  };
  /** Content type of every message: `application/json`. */
  readonly defaultContentType: string;
  /** One channel per event, keyed by the event name (cleaned to AsyncAPI's key characters). */
  readonly channels: Readonly<Record<string, ContractChannel>>;
  /** `send.<event>` per published event and `receive.<event>.<handler>` per handler. */
  readonly operations: Readonly<Record<string, ContractOperation>>;
  /** Shared parts the messages refer to. */
  readonly components: {
    /** `HeraldEnvelope`: the envelope headers every message carries. */
    readonly messageTraits: Readonly<Record<string, unknown>>;
  };
}
