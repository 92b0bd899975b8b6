import { bucketOf, type Envelope, JsonSerializer, toWire, uuidv7, type WireMessage } from '@herald/core';
import { uniqueSuffix } from '../internal/random.js';

const serializer = new JsonSerializer();

/** Fields of {@link testWireMessage}; everything is optional. */
export interface TestMessageOptions {
  /** Event name; default `testkit.event`. */
  name?: string;
  /** Message id; default a fresh UUID v7. */
  id?: string;
  /** Ordering key (also picks the outbox bucket); default none. */
  orderingKey?: string;
  /** Application headers (non-reserved names). */
  headers?: Record<string, string>;
  /** JSON payload; default `{ n: 0 }`. */
  payload?: unknown;
  /** Raw body bytes; replaces the encoded payload (e.g. to send garbage). */
  body?: Uint8Array;
}

/**
 * Builds a well-formed {@link WireMessage} the way core's publisher does
 * (`toWire` with the JSON serializer), so suites and adapter tests send what
 * a real bus would send.
 */
export function testWireMessage(options: TestMessageOptions = {}): WireMessage {
  const envelope: Envelope = {
    id: options.id ?? uuidv7(),
    name: options.name ?? 'testkit.event',
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'testkit',
    correlationId: uuidv7(),
    ...(options.orderingKey !== undefined ? { orderingKey: options.orderingKey } : {}),
    headers: options.headers ?? {},
    payload: options.payload ?? { n: 0 },
  };
  const message = toWire(envelope, serializer);
  return options.body ? { ...message, body: options.body } : message;
}

/** A message plus the bucket core would compute for it: the shape `OutboxStore.add` takes. */
export function outboxEntry(message: WireMessage): {
  /** The message, unchanged. */
  message: WireMessage;
  /** The shard bucket (0…1023) of the message's ordering key, or of its id when it has none. */
  bucket: number;
} {
  return { message, bucket: bucketOf(message.orderingKey ?? message.id) };
}

/** A unique event name for one test, so suites can share a broker or database. */
export function uniqueEventName(prefix = 'testkit'): string {
  return `${prefix}.event-${uniqueSuffix()}`;
}

/** Decodes the JSON payload of a message built by {@link testWireMessage}. */
export function payloadOfTestMessage<T = unknown>(body: Uint8Array): T {
  return serializer.deserialize(body) as T;
}
