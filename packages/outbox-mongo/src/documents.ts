import type { InboxStatus, OutboxStatus } from '@herald/core';
import type { Binary, IndexDescription } from 'mongodb';

/** A stored header: an array of pairs, because header names may contain `.` or start with `$`. */
export interface StoredHeader {
  k: string;
  v: string;
}

/** Lease fields shared by outbox and inbox documents (see lease-registry.ts). */
export interface LeaseFields {
  /** Generation of the last lease granted; the next claim competes for `lease + 1`. */
  lease: number;
  /** Exclusive until this instant (epoch when not leased). */
  leaseUntil: Date;
  owner: string | null;
}

/** One outbox record. `_id` is the message id. */
export interface OutboxDocument extends LeaseFields {
  _id: string;
  seq: number;
  bucket: number;
  status: OutboxStatus;
  name: string;
  /** Ordering key, `null` when the message has none. */
  key: string | null;
  headers: StoredHeader[];
  body: Binary;
  attempts: number;
  createdAt: Date;
  /** When a claim may take it: epoch while pending (its delayed-publish time if any), `nextAttemptAt` once failed, null when closed. */
  dueAt: Date | null;
  nextAttemptAt: Date | null;
  lastError: string | null;
  /** Recent failures, oldest first (capped at ERROR_HISTORY). */
  errorHistory?: Array<{ at: Date; error: string }>;
  publishedAt: Date | null;
}

/** A message kept by the inbox for a retry. */
export interface StoredMessage {
  id: string;
  name: string;
  key: string | null;
  headers: StoredHeader[];
  body: Binary;
}

/** One inbox entry. `_id` is `JSON.stringify([handler, messageId])`. */
export interface InboxDocument extends LeaseFields {
  _id: string;
  messageId: string;
  handler: string;
  eventName: string;
  orderingKey: string | null;
  /** `JSON.stringify([handler, orderingKey])`, null without an ordering key: the unit of per-key order. */
  chain: string | null;
  seq: number;
  status: InboxStatus;
  attempts: number;
  receivedAt: Date;
  updatedAt: Date;
  nextAttemptAt: Date | null;
  lastError: string | null;
  /** Recent failures, oldest first (capped at ERROR_HISTORY). */
  errorHistory?: Array<{ at: Date; error: string }>;
  message: StoredMessage | null;
}

/** Failures kept per record. */
export const ERROR_HISTORY = 20;

/** A granted lease generation; unique `_id` makes the grant exclusive (see lease-registry.ts). */
export interface LeaseDocument {
  _id: string;
  record: string;
  gen: number;
  until: Date;
  owner: string;
  at: Date;
}

/** A reserved block of sequence numbers `[_id, end]` (see sequence-allocator.ts). */
export interface SequenceBlockDocument {
  _id: number;
  end: number;
  at: Date;
}

/** Collection names of one event log. */
export interface CollectionNames {
  /** The outbox collection. Default `herald_outbox`. */
  readonly outbox: string;
  /** The inbox collection. Default `herald_inbox`. */
  readonly inbox: string;
}

/** The auxiliary collections a store keeps next to its own. */
export function auxiliaryNames(collection: string): { leases: string; sequences: string; fences: string } {
  return {
    leases: `${collection}_leases`,
    sequences: `${collection}_sequences`,
    fences: `${collection}_fences`,
  };
}

/** "Not leased": every lease comparison is `leaseUntil <= now`. */
export const NOT_LEASED = new Date(0);

export const OPEN_OUTBOX: readonly OutboxStatus[] = ['pending', 'failed'];
export const OPEN_INBOX: readonly InboxStatus[] = ['processing', 'failed'];

/**
 * Indexes created by `init()` (FerretDB 1.24 has no partial indexes, so none are partial).
 * The claim index serves the claim window (`status ∈ open`, sorted by `seq`); the
 * chain index the per-key blocking lookup; the unique `seq` index guards the
 * allocator's invariant; the expiry index `deleteExpired`.
 */
export const OUTBOX_INDEXES: IndexDescription[] = [
  { key: { status: 1, seq: 1 }, name: 'herald_claim' },
  { key: { key: 1, seq: 1 }, name: 'herald_chain' },
  { key: { seq: 1 }, name: 'herald_seq', unique: true },
  { key: { status: 1, publishedAt: 1 }, name: 'herald_expiry' },
];

export const INBOX_INDEXES: IndexDescription[] = [
  { key: { status: 1, seq: 1 }, name: 'herald_claim' },
  { key: { chain: 1, seq: 1 }, name: 'herald_chain' },
  { key: { handler: 1, orderingKey: 1, status: 1 }, name: 'herald_parked' },
  { key: { seq: 1 }, name: 'herald_seq', unique: true },
  { key: { status: 1, updatedAt: 1 }, name: 'herald_expiry' },
  { key: { handler: 1, seq: 1 }, name: 'herald_handler' },
];

export const LEASE_INDEXES: IndexDescription[] = [{ key: { at: 1 }, name: 'herald_expiry' }];
export const SEQUENCE_INDEXES: IndexDescription[] = [{ key: { at: 1 }, name: 'herald_expiry' }];
