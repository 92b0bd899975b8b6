import type { Collection, Document, Filter } from 'mongodb';

/** Windows one claim reads at most; it returns fewer records rather than scanning on. */
const MAX_WINDOWS = 10;
const MAX_WINDOW_SIZE = 1000;

/** What {@link findClaimable} needs to know about a collection. */
export interface ClaimWindowQuery<D extends { seq: number }> {
  readonly collection: Collection<D>;
  /** Records that may be leased now, ignoring per-key order (status, due time, lease, shard). */
  readonly claimable: Filter<D>;
  /** Unfinished records: each blocks the later records of its chain. */
  readonly unfinished: Filter<D>;
  /** Field naming the chain (ordering unit); `null` there means "no ordering". */
  readonly chainField: string;
  readonly limit: number;
}

/**
 * The claim rule, in sequence order: a claimable record is a candidate when
 * no unfinished record of its chain has a lower sequence.
 *
 * FerretDB 1.24 has no `$min`/`$first` accumulators, so instead of one
 * `$group` this reads a window of claimable records in sequence order, takes
 * the first record of each chain in it, and asks with one `distinct` which of
 * those chains have an earlier unfinished record. Later records of a chain
 * seen in a window are blocked by its first one, so further windows exclude
 * every chain already seen (`$nin`) and move past the last sequence read;
 * a key with thousands of waiting records costs one window, not thousands.
 *
 * The candidates are not leased yet: the caller leases them and keeps only
 * those it won.
 */
export async function findClaimable<D extends { seq: number }>(query: ClaimWindowQuery<D>): Promise<D[]> {
  const { collection, chainField, limit } = query;
  const chosen: D[] = [];
  const seenChains = new Set<string>();
  let after: number | undefined;
  for (let window = 0; window < MAX_WINDOWS && chosen.length < limit; window++) {
    const size = Math.min(Math.max((limit - chosen.length) * 2, 20), MAX_WINDOW_SIZE);
    const conditions: Filter<Document>[] = [query.claimable as Filter<Document>];
    if (after !== undefined) conditions.push({ seq: { $gt: after } });
    if (seenChains.size > 0) conditions.push({ [chainField]: { $nin: [...seenChains] } });
    const docs = (await (collection as unknown as Collection<Document>)
      .find(conditions.length === 1 ? conditions[0]! : { $and: conditions }, {
        sort: { seq: 1 },
        limit: size,
      })
      .toArray()) as unknown as D[];
    if (docs.length === 0) break;
    after = docs.at(-1)!.seq;

    const heads = new Map<string, D>();
    for (const doc of docs) {
      const chain = chainOf(doc, chainField);
      if (chain !== null && !heads.has(chain)) heads.set(chain, doc);
    }
    const blocked = heads.size === 0 ? new Set<string>() : await blockedChains(query, heads);
    for (const doc of docs) {
      if (chosen.length >= limit) break;
      const chain = chainOf(doc, chainField);
      if (chain === null || (heads.get(chain) === doc && !blocked.has(chain))) chosen.push(doc);
    }
    for (const chain of heads.keys()) seenChains.add(chain);
    if (docs.length < size) break;
  }
  return chosen;
}

/** Chains among `heads` that have an unfinished record before their head. */
async function blockedChains<D extends { seq: number }>(
  query: ClaimWindowQuery<D>,
  heads: ReadonlyMap<string, D>,
): Promise<Set<string>> {
  const before = [...heads].map(([chain, head]) => ({ [query.chainField]: chain, seq: { $lt: head.seq } }));
  const filter = { $and: [query.unfinished as Filter<Document>, { $or: before }] };
  const chains = await (query.collection as unknown as Collection<Document>).distinct(
    query.chainField,
    filter,
  );
  return new Set(chains.filter((chain): chain is string => typeof chain === 'string'));
}

function chainOf(doc: object, field: string): string | null {
  const value = (doc as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : null;
}
