import type { ChannelNaming, ConsumerNaming } from '@herald/core';
import type { JsonSchema } from './json-schema.js';

/** The AsyncAPI version of the exported documents. */
export const ASYNCAPI_VERSION = '3.0.0';

/** What a message's `x-herald-event` says about the event (read back by `checkContracts`). */
export interface HeraldEventInfo {
  readonly name: string;
  /** The current payload version. */
  readonly version: number;
  /** Versions with an upcaster to the next one (`n` lifts `n` → `n + 1`). */
  readonly upcasters: readonly number[];
  /** `json-schema`: `payload` is the event's schema; `none`: the event declares none; `unconvertible`: see `reason`. */
  readonly schema: 'json-schema' | 'none' | 'unconvertible';
  /** The schema library (`zod`, `valibot`, …). */
  readonly vendor?: string;
  readonly reason?: string;
}

/** A message of an exported document. */
export interface ContractMessage {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly contentType: string;
  readonly payload: JsonSchema;
  readonly traits: readonly { readonly $ref: string }[];
  readonly 'x-herald-event': HeraldEventInfo;
  readonly [key: string]: unknown;
}

/** A channel of an exported document: one per event. */
export interface ContractChannel {
  readonly address: string;
  readonly title: string;
  readonly messages: Readonly<Record<string, ContractMessage>>;
  readonly bindings?: Readonly<Record<string, unknown>>;
  readonly 'x-herald-channel': ChannelNaming;
}

/** An operation: this service sends an event, or one of its handlers receives it. */
export interface ContractOperation {
  readonly action: 'send' | 'receive';
  readonly channel: { readonly $ref: string };
  readonly messages: readonly { readonly $ref: string }[];
  readonly summary: string;
  readonly bindings?: Readonly<Record<string, unknown>>;
  readonly 'x-herald-event': string;
  /** Receive operations: the handler and its consumer group. */
  readonly 'x-herald-handler'?: { readonly name: string; readonly group: string };
  /** Receive operations: what the group reads from on the broker. */
  readonly 'x-herald-consumer'?: ConsumerNaming;
}

/** An AsyncAPI 3.0 document as `exportContracts` writes it (plain JSON: commit it as a snapshot). */
export interface ContractDocument {
  readonly asyncapi: string;
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly description?: string;
    readonly 'x-herald-service': string;
    readonly 'x-herald-transport': { readonly name: string; readonly protocol: string };
  };
  readonly defaultContentType: string;
  readonly channels: Readonly<Record<string, ContractChannel>>;
  readonly operations: Readonly<Record<string, ContractOperation>>;
  readonly components: {
    readonly messageTraits: Readonly<Record<string, unknown>>;
  };
}
