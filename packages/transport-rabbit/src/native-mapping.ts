import { WireHeaders, type WireMessage } from '@herald/core';
import type { Message, MessageProperties, Options } from 'amqplib';

/** Headers this transport adds to copies it moves to retry and dead-letter queues. */
export const TransportHeaders = {
  /** Number of the next delivery attempt (a retry copy carries the count forward). */
  attempt: 'x-herald-attempt',
  /** Why core dead-lettered the message. */
  deadLetterReason: 'x-herald-dead-letter-reason',
  /** ISO time the message was dead-lettered. */
  deadLetteredAt: 'x-herald-dead-lettered-at',
  /** The consumer group that dead-lettered it. */
  deadLetterGroup: 'x-herald-dead-letter-group',
  /** Why the message was sent to a retry queue (for operators inspecting a retry queue). */
  retryReason: 'x-herald-retry-reason',
} as const;

/**
 * Envelope headers carried as AMQP basic properties instead of table entries,
 * so RabbitMQ tooling and foreign consumers see them natively. `timestamp` is
 * derived from `herald-occurred-at` too, but only to seconds, so that header
 * stays in the table.
 */
const PROPERTY_HEADERS = [
  ['messageId', WireHeaders.id],
  ['type', WireHeaders.name],
  ['correlationId', WireHeaders.correlationId],
  ['contentType', WireHeaders.contentType],
] as const satisfies ReadonlyArray<readonly [keyof MessageProperties & keyof Options.Publish, string]>;

// AMQP short strings (the properties above) hold at most 255 bytes.
const SHORT_STRING_MAX = 255;

/** Table entries the broker or this transport add; stripped on receive. */
function isTransportHeader(name: string): boolean {
  return (
    name.startsWith('x-herald-') ||
    name === 'x-death' ||
    name === 'x-delivery-count' ||
    name.startsWith('x-first-death-') ||
    name.startsWith('x-last-death-')
  );
}

// An application header that collides with a transport header name travels
// escaped under this prefix, so the round trip stays exact.
const ESCAPE = 'x-herald-h:';

/** AMQP publish arguments for a wire message. */
export function toAmqp(message: WireMessage): { content: Buffer; options: Options.Publish } {
  const table: Record<string, string> = {};
  const options: Options.Publish = { persistent: true };
  const moved = new Set<string>();
  for (const [property, header] of PROPERTY_HEADERS) {
    const value = message.headers[header];
    if (typeof value === 'string' && value.length > 0 && Buffer.byteLength(value) <= SHORT_STRING_MAX) {
      options[property] = value;
      moved.add(header);
    }
  }
  for (const [name, value] of Object.entries(message.headers)) {
    if (moved.has(name)) continue;
    table[isTransportHeader(name) ? `${ESCAPE}${name}` : name] = value;
  }
  const occurredAt = Date.parse(message.headers[WireHeaders.occurredAt] ?? '');
  if (!Number.isNaN(occurredAt)) options.timestamp = Math.floor(occurredAt / 1000);
  options.headers = table;
  const body = message.body;
  return { content: Buffer.from(body.buffer, body.byteOffset, body.byteLength), options };
}

/**
 * Rebuilds exactly the headers the publisher's wire message had. Foreign
 * messages may carry non-string table values; they are stringified so core
 * can still read (or dead-letter) them.
 */
export function fromAmqp(message: Message): Record<string, string> {
  const headers: Record<string, string> = {};
  const table: Record<string, unknown> = message.properties.headers ?? {};
  for (const [name, value] of Object.entries(table)) {
    if (name.startsWith(ESCAPE)) {
      headers[name.slice(ESCAPE.length)] = stringify(value);
      continue;
    }
    if (isTransportHeader(name) || value === undefined || value === null) continue;
    headers[name] = stringify(value);
  }
  for (const [property, header] of PROPERTY_HEADERS) {
    const value: unknown = message.properties[property];
    if (typeof value === 'string' && value.length > 0) headers[header] = value;
  }
  return headers;
}

/** The delivery attempt of a message: the count carried by retry copies, +1 for a broker redelivery. */
export function deliveryAttemptOf(message: Message): number {
  const table: Record<string, unknown> = message.properties.headers ?? {};
  const carried = Number(table[TransportHeaders.attempt]);
  const base = Number.isInteger(carried) && carried >= 1 ? carried : 1;
  if (!message.fields.redelivered) return base;
  // Quorum queues count returns; classic queues only flag a redelivery.
  const count = Number(table['x-delivery-count']);
  return base + (Number.isInteger(count) && count >= 1 ? count : 1);
}

/**
 * Publish arguments for a copy of a received message (retry and dead-letter
 * queues): the same properties and table, plus transport headers. Properties
 * the broker would police (`userId`) or that would expire the copy are dropped.
 */
export function copyForRequeue(message: Message, extra: Record<string, string | number>): Options.Publish {
  const source = message.properties;
  const table: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(source.headers ?? {})) {
    if (
      name === 'x-death' ||
      name === 'x-delivery-count' ||
      name.startsWith('x-first-death-') ||
      name.startsWith('x-last-death-')
    )
      continue;
    if (name in extra || (name.startsWith('x-herald-') && !name.startsWith(ESCAPE))) continue;
    table[name] = value;
  }
  Object.assign(table, extra);
  const options: Options.Publish = { persistent: true, headers: table };
  const copy = [
    'contentType',
    'contentEncoding',
    'correlationId',
    'messageId',
    'type',
    'timestamp',
    'appId',
    'priority',
    'replyTo',
  ] as const;
  for (const key of copy) {
    const value = source[key];
    if (value !== undefined && value !== null) (options as Record<string, unknown>)[key] = value;
  }
  return options;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
