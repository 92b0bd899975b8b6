import type { Collection, Filter } from 'mongodb';

/**
 * Deletes at most `limit` finished documents matching `finished` (ids first, then one
 * deleteMany that re-checks the filter, so a document reopened meanwhile is kept).
 * Shared by the outbox and inbox cleanup.
 */
export async function deleteFinished<T extends { _id: string }>(
  collection: Collection<T>,
  finished: Filter<T>,
  limit: number,
): Promise<number> {
  const expired = await collection.find(finished, { projection: { _id: 1 }, limit }).toArray();
  if (expired.length === 0) return 0;
  const ids = expired.map((doc) => doc._id);
  return (await collection.deleteMany({ ...finished, _id: { $in: ids } } as Filter<T>)).deletedCount;
}
