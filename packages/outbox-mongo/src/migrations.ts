import type { Db, IndexDescription } from 'mongodb';
import {
  auxiliaryNames,
  type CollectionNames,
  INBOX_INDEXES,
  LEASE_INDEXES,
  OUTBOX_INDEXES,
  SEQUENCE_INDEXES,
} from './documents.js';
import { FENCE_INDEXES } from './fence-guard.js';

/** listIndexes on a collection that does not exist yet. */
const NAMESPACE_NOT_FOUND = 26;

/**
 * MongoDB has no schema to migrate; this is its migration. Creates the
 * collections and their indexes (idempotent), without checking the server.
 * Collections are created here, outside any transaction, so the first
 * transactional insert never has to create one.
 */
export async function ensureIndexes(db: Db, collections: CollectionNames): Promise<void> {
  const { outbox, inbox } = collections;
  const plan: Array<[string, IndexDescription[]]> = [
    [outbox, OUTBOX_INDEXES],
    [auxiliaryNames(outbox).leases, LEASE_INDEXES],
    [auxiliaryNames(outbox).sequences, SEQUENCE_INDEXES],
    [auxiliaryNames(outbox).fences, FENCE_INDEXES],
    [inbox, INBOX_INDEXES],
    [auxiliaryNames(inbox).leases, LEASE_INDEXES],
    [auxiliaryNames(inbox).sequences, SEQUENCE_INDEXES],
    [auxiliaryNames(inbox).fences, FENCE_INDEXES],
  ];
  // One command per missing index, one after the other: FerretDB 1.24 panics (and drops the connection)
  // on a createIndexes listing several indexes that already exist.
  for (const [name, indexes] of plan) {
    const collection = db.collection(name);
    const existing = await collection
      .listIndexes()
      .toArray()
      .catch((error: unknown) => {
        if ((error as { code?: unknown }).code === NAMESPACE_NOT_FOUND) return [];
        throw error;
      });
    const names = new Set(existing.map((index) => index.name));
    for (const index of indexes) if (!names.has(index.name)) await collection.createIndexes([index]);
  }
}
