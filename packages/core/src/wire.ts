import type { Envelope } from './envelope.js';
import { MalformedMessageError } from './errors.js';
import type { Serializer } from './serializer.js';
import { isUuid } from './uuid.js';

/**
 * An encoded envelope: what the outbox stores and what a transport carries.
 * Transports map `headers` onto their native properties but must hand back
 * exactly the same `headers` and `body` on the consuming side.
 */
export interface WireMessage {
  /** The envelope's id (UUID v7): the inbox dedup key and the broker message id. */
  readonly id: string;
  /** The event name (transports route by it). */
  readonly name: string;
  /** The envelope's ordering key (Kafka record key, Service Bus session); absent when the event has none. */
  readonly orderingKey?: string;
  /** Every envelope field but the payload (see {@link WireHeaders}), plus the application headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** The payload as the serializer encoded it (JSON by default). */
  readonly body: Uint8Array;
}

/** Header names Herald reserves for envelope fields. */
export const WireHeaders = {
  /** The message id (UUID v7). */
  id: 'herald-id',
  /** The event name. */
  name: 'herald-name',
  /** The payload version (decimal). */
  version: 'herald-version',
  /** When the event was created (ISO 8601). */
  occurredAt: 'herald-occurred-at',
  /** The publishing service. */
  source: 'herald-source',
  /** Groups every message caused by one original request. */
  correlationId: 'herald-correlation-id',
  /** Id of the message whose handling caused this one. */
  causationId: 'herald-causation-id',
  /** The event's tenant. */
  tenantId: 'herald-tenant-id',
  /** Messages with the same key are delivered and handled in order. */
  orderingKey: 'herald-ordering-key',
  /** Position in its outbox (decimal), set by the outbox store. */
  sequence: 'herald-sequence',
  /** W3C trace context: the publishing span. */
  traceparent: 'traceparent',
  /** W3C trace context: vendor-specific trace state. */
  tracestate: 'tracestate',
  /** The serializer's media type, e.g. `application/json`. */
  contentType: 'content-type',
  /** Set on a message whose publishing bus already ran its handlers inline (value: that bus's instance id). */
  handledInlineBy: 'herald-handled-inline-by',
} as const;

const RESERVED = new Set<string>(Object.values(WireHeaders));

/** True for header names owned by Herald; application headers may not use them. */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED.has(lower) || lower.startsWith('herald-');
}

/** Encodes an envelope; the serializer encodes the payload. */
export function toWire(envelope: Envelope, serializer: Serializer): WireMessage {
  const body = serializer.serialize(envelope.payload);
  const headers: Record<string, string> = { ...envelope.headers };
  headers[WireHeaders.id] = envelope.id;
  headers[WireHeaders.name] = envelope.name;
  headers[WireHeaders.version] = String(envelope.version);
  headers[WireHeaders.occurredAt] = envelope.occurredAt;
  headers[WireHeaders.source] = envelope.source;
  headers[WireHeaders.contentType] = serializer.contentType;
  const optional = [
    ['correlationId', envelope.correlationId],
    ['causationId', envelope.causationId],
    ['tenantId', envelope.tenantId],
    ['orderingKey', envelope.orderingKey],
    ['traceparent', envelope.traceparent],
    ['tracestate', envelope.tracestate],
  ] as const;
  for (const [field, value] of optional) if (value !== undefined) headers[WireHeaders[field]] = value;
  if (envelope.sequence !== undefined) headers[WireHeaders.sequence] = String(envelope.sequence);
  return {
    id: envelope.id,
    name: envelope.name,
    ...(envelope.orderingKey !== undefined ? { orderingKey: envelope.orderingKey } : {}),
    headers,
    body,
  };
}

/** Returns a copy of the message carrying a sequence number (set by outbox stores on insert). */
export function withSequence(message: WireMessage, sequence: number): WireMessage {
  return { ...message, headers: { ...message.headers, [WireHeaders.sequence]: String(sequence) } };
}

/** Decodes the envelope's metadata and payload, rejecting anything incomplete with a typed error. */
export function fromWire(
  headers: Readonly<Record<string, string>>,
  body: Uint8Array,
  serializer: Serializer,
): Envelope {
  const required = (field: 'id' | 'name' | 'version' | 'occurredAt' | 'source'): string => {
    const value = headers[WireHeaders[field]];
    if (typeof value !== 'string' || value.length === 0) {
      throw new MalformedMessageError(`Missing header "${WireHeaders[field]}"`);
    }
    return value;
  };
  const id = required('id');
  if (!isUuid(id)) throw new MalformedMessageError(`Header "${WireHeaders.id}" is not a UUID`);
  const name = required('name');
  const version = Number(required('version'));
  if (!Number.isInteger(version) || version < 1) {
    throw new MalformedMessageError(`Header "${WireHeaders.version}" is not a positive integer`);
  }
  const occurredAt = required('occurredAt');
  if (Number.isNaN(Date.parse(occurredAt))) {
    throw new MalformedMessageError(`Header "${WireHeaders.occurredAt}" is not a date`);
  }
  const source = required('source');
  const contentType = headers[WireHeaders.contentType];
  if (contentType !== undefined && contentType !== serializer.contentType) {
    throw new MalformedMessageError(
      `Content type "${contentType}" cannot be read by the ${serializer.contentType} serializer`,
    );
  }
  const payload = serializer.deserialize(body);
  const userHeaders: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (!isReservedHeader(key) && typeof value === 'string') userHeaders[key] = value;
  }
  const sequenceText = headers[WireHeaders.sequence];
  const sequence = sequenceText === undefined ? undefined : Number(sequenceText);
  const pick = (
    field: 'correlationId' | 'causationId' | 'tenantId' | 'orderingKey' | 'traceparent' | 'tracestate',
  ) => {
    const value = headers[WireHeaders[field]];
    return value === undefined ? {} : { [field]: value };
  };
  return {
    id,
    name,
    version,
    occurredAt,
    source,
    ...pick('correlationId'),
    ...pick('causationId'),
    ...pick('tenantId'),
    ...pick('orderingKey'),
    ...pick('traceparent'),
    ...pick('tracestate'),
    ...(sequence !== undefined && Number.isFinite(sequence) ? { sequence } : {}),
    headers: userHeaders,
    payload,
  };
}
