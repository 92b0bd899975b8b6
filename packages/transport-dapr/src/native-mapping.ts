import { WireHeaders, type WireMessage } from '@herald/core';

/**
 * Envelope ⇄ CloudEvent. A Herald message travels as a structured CloudEvent
 * (`application/cloudevents+json`, which Dapr forwards as is):
 *
 * - the standard attributes carry what any Dapr subscriber understands:
 *   `id` (the event id), `type` (the event name), `source`, `time`,
 *   `datacontenttype` and `subject` (the ordering key);
 * - the payload is `data_base64`, so its bytes arrive unchanged (Dapr
 *   re-encodes a JSON `data` object, reordering keys) — Dapr decodes it for
 *   gRPC subscribers, which see the payload bytes as the event data;
 * - the complete Herald header set is the extension `heraldheaders` (a JSON
 *   object as a string; CloudEvents extension names allow only `[a-z0-9]`, so
 *   header names such as `herald-id` cannot each be an attribute of their own).
 */
export const CloudEventExtensions = {
  /** Every Herald wire header, as a JSON object in a string. */
  headers: 'heraldheaders',
} as const;

/** Content type of a structured CloudEvent. */
export const CLOUD_EVENT_CONTENT_TYPE = 'application/cloudevents+json';

/** A CloudEvent as Herald writes it (JSON form). */
export type CloudEventJson = Record<string, string>;

/** The CloudEvent of a Herald message, plus extra extension attributes (dead letters). */
export function toCloudEvent(
  message: WireMessage,
  extra: Readonly<Record<string, string>> = {},
): CloudEventJson {
  const headers = message.headers;
  const event: CloudEventJson = {
    specversion: '1.0',
    id: message.id,
    type: headers[WireHeaders.name] || message.name,
    source: headers[WireHeaders.source] || 'herald',
    datacontenttype: headers[WireHeaders.contentType] || 'application/octet-stream',
    data_base64: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString(
      'base64',
    ),
    [CloudEventExtensions.headers]: JSON.stringify(headers),
  };
  const time = headers[WireHeaders.occurredAt];
  if (time !== undefined && !Number.isNaN(Date.parse(time))) event.time = time;
  if (message.orderingKey !== undefined) event.subject = message.orderingKey;
  for (const [name, value] of Object.entries(extra)) event[name] = value;
  return event;
}

/** The CloudEvent as the bytes a Dapr publish call carries. */
export function encodeCloudEvent(event: CloudEventJson): Uint8Array {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** What the sidecar hands over for one delivered CloudEvent (the fields of `TopicEventRequest`). */
export interface DeliveredEvent {
  readonly id: string;
  readonly data: Uint8Array;
  /** CloudEvent `type`, `source` and `datacontenttype` (read when a foreign event is given back). */
  readonly type?: string;
  readonly source?: string;
  readonly dataContentType?: string;
  readonly extensions?: Readonly<Record<string, unknown>> | undefined;
}

/** The decoded Herald headers, or why there are none (a message from a non-Herald publisher, or damaged). */
export type HeaderReading =
  | { readonly ok: true; readonly headers: Record<string, string> }
  | { readonly ok: false; readonly problem: string };

/**
 * Reads the Herald headers of a delivered CloudEvent. Never throws: hostile
 * input yields `{ ok: false }` and the message is handed to core header-less,
 * so core dead-letters it with the reason (missing `herald-id`).
 */
export function readHeraldHeaders(event: DeliveredEvent): HeaderReading {
  const raw = event.extensions?.[CloudEventExtensions.headers];
  if (raw === undefined || raw === null) {
    return { ok: false, problem: `no "${CloudEventExtensions.headers}" extension (not published by Herald)` };
  }
  if (typeof raw !== 'string')
    return { ok: false, problem: `"${CloudEventExtensions.headers}" is not a string` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, problem: `"${CloudEventExtensions.headers}" is not JSON` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, problem: `"${CloudEventExtensions.headers}" is not a JSON object` };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      return {
        ok: false,
        problem: `header "${name.slice(0, 64)}" in "${CloudEventExtensions.headers}" is not a string`,
      };
    }
    // defineProperty: a header named "__proto__" stays a plain own property.
    Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return { ok: true, headers };
}

/** A string extension attribute of a delivered event, if present. */
export function stringExtension(event: DeliveredEvent, name: string): string | undefined {
  const value = event.extensions?.[name];
  return typeof value === 'string' ? value : undefined;
}
