import {
  type ErrorEntry,
  type InboxRecord,
  type InboxStatus,
  type OutboxRecord,
  type OutboxStatus,
  type WireMessage,
  withSequence,
} from '@herald/core';
import type { Provider } from './dialect.js';

/**
 * Row ↔ record mapping shared by both stores. Drivers return BIGINT as
 * `bigint` (PostgreSQL) or `number` (MariaDB, SQLite) and bytes as
 * `Uint8Array` or `Buffer`; everything is normalised here.
 */

/**
 * Outbox columns in the order the stores select them, for one engine. On PostgreSQL the body is
 * read as base64 text: a `bytea` column arrives as hex text twice its size, and Prisma's raw
 * path then turns the bytes into base64 and back, so a relay batch of 1,000 rows allocated
 * ~1.2 KB more heap and ~10 µs more CPU per row than reading base64 text and decoding it once.
 */
export function outboxColumns(provider: Provider): string {
  const body = provider === 'postgresql' ? `encode(body, 'base64') AS body` : 'body';
  return `sequence, id, name, ordering_key, bucket, headers, ${body}, status, attempts, created_at, next_attempt_at, last_error, error_history, published_at`;
}

/** Inbox columns in the order the stores select them. */
export const INBOX_COLUMNS =
  'sequence, message_id, handler, event_name, ordering_key, status, attempts, received_at, next_attempt_at, last_error, error_history, headers, body';

export interface OutboxRow {
  sequence: bigint | number;
  id: string;
  name: string;
  ordering_key: string | null;
  bucket: bigint | number;
  headers: string;
  /** Bytes, or base64 text where {@link outboxColumns} reads it so. */
  body: Uint8Array | string;
  status: string;
  attempts: bigint | number;
  created_at: bigint | number;
  next_attempt_at: bigint | number | null;
  last_error: string | null;
  error_history: string | null;
  published_at: bigint | number | null;
}

export interface InboxRow {
  sequence: bigint | number;
  message_id: string;
  handler: string;
  event_name: string;
  ordering_key: string | null;
  status: string;
  attempts: bigint | number;
  received_at: bigint | number;
  next_attempt_at: bigint | number | null;
  last_error: string | null;
  error_history: string | null;
  headers: string | null;
  body: Uint8Array | null;
}

/** Longest error text kept per record; a stack trace fits, a runaway message does not fill the table. */
export const MAX_ERROR_LENGTH = 16_000;

export function truncateError(error: string): string {
  return error.length <= MAX_ERROR_LENGTH ? error : `${error.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}

/** Characters of error history kept per record (the oldest lines fall off). */
export const MAX_ERROR_HISTORY = 16_000;

/** One history line: `{"at": epoch ms, "error": "..."}` and a newline. */
export function errorHistoryLine(at: Date, error: string): string {
  return `${JSON.stringify({ at: at.getTime(), error: error.slice(0, 2_000) })}\n`;
}

/** Parses the history column; a line cut by the cap (the oldest) is skipped. */
export function parseErrorHistory(text: string | null): ErrorEntry[] {
  if (!text) return [];
  const entries: ErrorEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const entry = JSON.parse(line) as { at: number; error: string };
      entries.push({ at: new Date(entry.at), error: entry.error });
    } catch {
      // the first line may have been cut by the cap
    }
  }
  return entries;
}

function date(value: bigint | number | null): Date | null {
  return value === null ? null : new Date(Number(value));
}

function bytes(value: Uint8Array | string): Uint8Array {
  // Base64 text (PostgreSQL's encode() wraps lines; Node's decoder skips the newlines).
  // A Buffer (decoded here or from the driver) may view a shared pool; copy into a plain Uint8Array.
  const decoded = typeof value === 'string' ? Buffer.from(value, 'base64') : value;
  return decoded.constructor === Uint8Array ? decoded : new Uint8Array(decoded);
}

function message(
  id: string,
  name: string,
  orderingKey: string | null,
  headers: string,
  body: Uint8Array | string,
): WireMessage {
  return {
    id,
    name,
    ...(orderingKey !== null ? { orderingKey } : {}),
    headers: JSON.parse(headers) as Record<string, string>,
    body: bytes(body),
  };
}

export function toOutboxRecord(row: OutboxRow): OutboxRecord {
  const sequence = Number(row.sequence);
  return {
    message: withSequence(message(row.id, row.name, row.ordering_key, row.headers, row.body), sequence),
    sequence,
    bucket: Number(row.bucket),
    status: row.status as OutboxStatus,
    attempts: Number(row.attempts),
    createdAt: new Date(Number(row.created_at)),
    nextAttemptAt: date(row.next_attempt_at),
    lastError: row.last_error,
    errorHistory: parseErrorHistory(row.error_history),
    publishedAt: date(row.published_at),
  };
}

export function toInboxRecord(row: InboxRow): InboxRecord {
  return {
    messageId: row.message_id,
    handler: row.handler,
    eventName: row.event_name,
    orderingKey: row.ordering_key,
    sequence: Number(row.sequence),
    status: row.status as InboxStatus,
    attempts: Number(row.attempts),
    receivedAt: new Date(Number(row.received_at)),
    nextAttemptAt: date(row.next_attempt_at),
    lastError: row.last_error,
    errorHistory: parseErrorHistory(row.error_history),
    message:
      row.headers !== null && row.body !== null
        ? message(row.message_id, row.event_name, row.ordering_key, row.headers, row.body)
        : null,
  };
}
