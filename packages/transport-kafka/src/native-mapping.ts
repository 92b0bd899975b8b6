import type { WireMessage } from '@herald/core';
import type { IHeaders, Message } from 'kafkajs';

/** Kafka header value as kafkajs hands it over (foreign producers may repeat a key or send null). */
type KafkaHeaderValue = IHeaders[string];

/** Herald's headers as Kafka record headers (UTF-8 strings). */
export function toKafkaHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return { ...headers };
}

/**
 * Rebuilds the publisher's headers from a Kafka record. A Herald publisher's
 * headers come back exactly; for foreign records a repeated key keeps its last
 * value (Kafka's "last one wins" convention) and null values are dropped.
 */
export function fromKafkaHeaders(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (!headers) return result;
  for (const [key, value] of Object.entries(headers)) {
    const text = headerText(value);
    if (text !== undefined) result[key] = text;
  }
  return result;
}

function headerText(value: KafkaHeaderValue): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : headerText(value[value.length - 1]);
  return typeof value === 'string' ? value : value.toString('utf8');
}

/** The record value as a plain Uint8Array copy (kafkajs buffers may be views of a larger fetch buffer). */
export function bodyOf(value: Buffer | null): Uint8Array {
  return value === null ? new Uint8Array(0) : new Uint8Array(value);
}

/** The Kafka record of a Herald message: key = ordering key (or id), value = body, headers as they are. */
export function toRecord(message: WireMessage): Message {
  return {
    key: message.orderingKey ?? message.id,
    value: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength),
    headers: toKafkaHeaders(message.headers),
  };
}
