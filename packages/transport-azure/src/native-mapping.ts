import { createHash } from 'node:crypto';
import type { ServiceBusMessage, ServiceBusReceivedMessage } from '@azure/service-bus';
import { WireHeaders } from '@herald/core';

/**
 * How Herald's wire headers travel on a Service Bus message, and back.
 *
 * | header                  | Service Bus property                         |
 * |-------------------------|----------------------------------------------|
 * | `herald-id`             | `messageId` (duplicate detection)            |
 * | `herald-name`           | `subject` (the subscriptions' filters)       |
 * | `herald-correlation-id` | `correlationId`                              |
 * | `traceparent`           | application property `Diagnostic-Id`         |
 * | `content-type`          | `contentType`                                |
 * | every other header      | application property of the same name        |
 *
 * The consumer rebuilds exactly the publisher's headers. When a native property is set
 * but does not stand for a header (a message without `herald-id`, or a retry copy whose
 * `messageId` and `subject` differ), the header travels as an application property, and
 * {@link UNSET_PROPERTY} records headers that were absent. Transport-internal application
 * properties are integers, so they never collide with headers (always strings).
 */

/** The application property Azure SDKs and Application Insights use for the W3C traceparent. */
export const DIAGNOSTIC_ID = 'Diagnostic-Id';
/** Integer application property: the delivery attempt a retry copy continues from. */
export const ATTEMPT_PROPERTY = 'herald-attempt';
/** Integer application property: bit set of headers that were absent although `messageId` / `subject` are set. */
export const UNSET_PROPERTY = 'herald-unset';

const UNSET_ID = 1;
const UNSET_NAME = 2;
/** Service Bus limits `messageId`, `correlationId` and `sessionId` to 128 characters. */
const MAX_ID_LENGTH = 128;

/** Native properties of one outgoing message. */
export interface Addressing {
  /** The `messageId`: the wire message id for a publish, a fresh id for a retry copy. */
  readonly messageId: string;
  /** The `subject`: the event name for a publish, {@link RETRY_SUBJECT} for a retry copy. */
  readonly subject: string;
  /** The `sessionId` (session mode): the ordering key, or an unkeyed session; absent otherwise. */
  readonly sessionId?: string;
  /** The `to`: for a retry copy, the subscription it returns to (its retry rule matches on it); absent for a publish. */
  readonly to?: string;
  /** Delivery attempt of a retry copy (> 1). */
  readonly attempt?: number;
  /** When Service Bus enqueues the message (a delayed retry copy); absent: at once. */
  readonly scheduledEnqueueTimeUtc?: Date;
}

/** Fits an id into Service Bus's 128-character limit (long ids become a SHA-256 digest). */
export function fitId(id: string): string {
  return id.length <= MAX_ID_LENGTH ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`;
}

/** Builds the Service Bus message for wire headers and body. */
export function toServiceBusMessage(
  headers: Readonly<Record<string, string>>,
  body: Uint8Array,
  addressing: Addressing,
): ServiceBusMessage {
  const messageId = fitId(addressing.messageId);
  const applicationProperties: Record<string, string | number> = {};
  const message: ServiceBusMessage = {
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    messageId,
    subject: addressing.subject,
    applicationProperties,
  };
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') continue;
    if (name === WireHeaders.id && value === messageId) continue;
    if (name === WireHeaders.name && value === addressing.subject) continue;
    if (name === WireHeaders.correlationId && value.length > 0 && value.length <= MAX_ID_LENGTH) {
      message.correlationId = value;
      continue;
    }
    if (name === WireHeaders.contentType && value.length > 0) {
      message.contentType = value;
      continue;
    }
    applicationProperties[name === WireHeaders.traceparent ? DIAGNOSTIC_ID : name] = value;
  }
  let unset = 0;
  if (headers[WireHeaders.id] === undefined) unset |= UNSET_ID;
  if (headers[WireHeaders.name] === undefined) unset |= UNSET_NAME;
  if (unset !== 0) applicationProperties[UNSET_PROPERTY] = unset;
  if (addressing.attempt !== undefined && addressing.attempt > 1) {
    applicationProperties[ATTEMPT_PROPERTY] = addressing.attempt;
  }
  if (addressing.sessionId !== undefined) message.sessionId = addressing.sessionId;
  if (addressing.to !== undefined) message.to = addressing.to;
  if (addressing.scheduledEnqueueTimeUtc !== undefined) {
    message.scheduledEnqueueTimeUtc = addressing.scheduledEnqueueTimeUtc;
  }
  return message;
}

/** A received message as Herald sees it. */
export interface Decoded {
  /** The wire headers as the publisher set them (id, name, correlation id, trace context, application headers). */
  readonly headers: Record<string, string>;
  /** The message body's bytes, unchanged. */
  readonly body: Uint8Array;
  /** The attempt this message starts from (1, or more for a retry copy). */
  readonly baseAttempt: number;
}

/** Rebuilds the publisher's headers and body from a received (or peeked) message. */
export function fromServiceBusMessage(
  message: ServiceBusReceivedMessage,
  options: { deadLetter?: boolean } = {},
): Decoded {
  const headers: Record<string, string> = {};
  let unset = 0;
  let baseAttempt = 1;
  for (const [name, value] of Object.entries(message.applicationProperties ?? {})) {
    if (name === UNSET_PROPERTY && typeof value === 'number') {
      unset = value;
    } else if (name === ATTEMPT_PROPERTY && typeof value === 'number') {
      baseAttempt = Math.max(1, Math.floor(value));
    } else if (options.deadLetter && (name === 'DeadLetterReason' || name === 'DeadLetterErrorDescription')) {
      // Set by the broker on dead-lettered messages; reported as the reason, not as headers.
    } else if (name === DIAGNOSTIC_ID && typeof value === 'string') {
      headers[WireHeaders.traceparent] = value;
    } else if (typeof value === 'string') {
      headers[name] = value;
    } else if (typeof value === 'number' || typeof value === 'boolean') {
      // A non-Herald publisher's typed property: headers are strings.
      headers[name] = String(value);
    }
  }
  const native = (name: string, value: unknown, bit = 0) => {
    if (headers[name] !== undefined || (unset & bit) !== 0 || value === undefined || value === null) return;
    headers[name] = typeof value === 'string' ? value : String(value);
  };
  native(WireHeaders.id, message.messageId, UNSET_ID);
  native(WireHeaders.name, message.subject, UNSET_NAME);
  native(WireHeaders.correlationId, message.correlationId);
  native(WireHeaders.contentType, message.contentType);
  return { headers, body: bodyBytes(message.body), baseAttempt };
}

/** The body as bytes: data sections arrive as a Buffer; other publishers' values are encoded. */
function bodyBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body, 'utf8'));
  return new Uint8Array(Buffer.from(JSON.stringify(body), 'utf8'));
}
