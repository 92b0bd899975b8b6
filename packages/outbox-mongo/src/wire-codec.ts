import type { WireMessage } from '@herald/core';
import { Binary } from 'mongodb';
import type { StoredHeader, StoredMessage } from './documents.js';

/** Headers as an array of pairs: names may contain `.` or start with `$`, which field names should not. */
export function encodeHeaders(headers: Readonly<Record<string, string>>): StoredHeader[] {
  return Object.entries(headers).map(([k, v]) => ({ k, v }));
}

export function decodeHeaders(headers: readonly StoredHeader[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const { k, v } of headers) result[k] = v;
  return result;
}

export function encodeBody(body: Uint8Array): Binary {
  return new Binary(body);
}

/** A plain copy of the stored bytes (the driver hands out a Buffer view). */
export function decodeBody(body: Binary): Uint8Array {
  return Uint8Array.from(body.buffer.subarray(0, body.length()));
}

export function encodeMessage(message: WireMessage): StoredMessage {
  return {
    id: message.id,
    name: message.name,
    key: message.orderingKey ?? null,
    headers: encodeHeaders(message.headers),
    body: encodeBody(message.body),
  };
}

export function decodeMessage(stored: StoredMessage): WireMessage {
  return {
    id: stored.id,
    name: stored.name,
    ...(typeof stored.key === 'string' ? { orderingKey: stored.key } : {}),
    headers: decodeHeaders(stored.headers),
    body: decodeBody(stored.body),
  };
}
