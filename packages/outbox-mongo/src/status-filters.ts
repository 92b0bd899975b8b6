import type { Collection, Document, Filter, UpdateFilter } from 'mongodb';

/**
 * FerretDB 1.24 (on PostgreSQL) pushes only top-level equalities down to
 * PostgreSQL: a filter whose status is `{ $in: [...] }`, or any filter
 * wrapped in `$and`/`$or`, is answered by reading every document of the
 * collection (published rows included) and filtering them in FerretDB —
 * ~350 ms per command at 3,000 documents on the test machine, against
 * ~10 ms for `{ status: 'pending', … }`. The hot paths therefore ask one
 * status at a time, in flat filters; MongoDB serves both shapes from its indexes.
 */

/**
 * `updateMany` of the documents among `ids` whose status is one of
 * `statuses`, one status at a time (flat `{ status, _id: { $in } }`
 * filters), stopping once every id matched: usually one command, since the
 * documents a caller names mostly share the first status. Returns how many matched.
 * Statuses are visited in the given order: an update that moves a document
 * into a status later in the list would match it again, so callers order
 * them to make that impossible.
 */
export async function updateByIdsInStatuses<D extends Document>(
  collection: Collection<D>,
  ids: readonly string[],
  statuses: readonly string[],
  update: UpdateFilter<D>,
  extra: Filter<Document> = {},
): Promise<number> {
  let matched = 0;
  for (const status of statuses) {
    if (matched >= ids.length) break;
    const result = await collection.updateMany(
      { ...extra, status, _id: { $in: [...ids] } } as unknown as Filter<D>,
      update,
    );
    matched += result.matchedCount;
  }
  return matched;
}

/**
 * `filter` with `extra`'s conditions added at the top level (never an `$and`
 * wrapper, see above); `$and` only when both constrain the same field.
 */
export function flatAnd(filter: Filter<Document>, extra: Filter<Document>): Filter<Document> {
  const clash = Object.keys(extra).some((field) => Object.hasOwn(filter, field));
  return clash ? { $and: [filter, extra] } : { ...filter, ...extra };
}
