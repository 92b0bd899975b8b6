import type { Collection, Document, Filter } from 'mongodb';
import { flatAnd } from './status-filters.js';

/** Windows one claim reads at most; it returns fewer records rather than scanning on. */
const MAX_WINDOWS = 10;
const MAX_WINDOW_SIZE = 1000;

/** What {@link findClaimable} needs to know about a collection. */
export interface ClaimWindowQuery<D extends { seq: number }> {
  readonly collection: Collection<D>;
  /** The statuses a claimable record may have (asked one at a time: see status-filters.ts). */
  readonly statuses: readonly string[];
  /** The rest of "may be leased now", ignoring per-key order (due time, lease, shard); flat, no `status`. */
  readonly claimable: Filter<D>;
  /** The statuses of unfinished records: each blocks the later records of its chain. */
  readonly unfinished: readonly string[];
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
 * the first record of each chain in it, and asks with `distinct` which of
 * those chains have an earlier unfinished record. Later records of a chain
 * seen in a window are blocked by its first one, so further windows exclude
 * every chain already seen (`$nin`) and move past the last sequence read;
 * a key with thousands of waiting records costs one window, not thousands.
 * Every query is flat and names one status (see status-filters.ts): one
 * `find` per claimable status, merged by sequence, and one `distinct` per
 * unfinished status.
 *
 * The candidates are not leased yet: the caller leases them and keeps only
 * those it won.
 */
export async function findClaimable<D extends { seq: number }>(query: ClaimWindowQuery<D>): Promise<D[]> {
  const { chainField, limit } = query;
  const chosen: D[] = [];
  const seenChains = new Set<string>();
  let after: number | undefined;
  for (let window = 0; window < MAX_WINDOWS && chosen.length < limit; window++) {
    const size = Math.min(Math.max((limit - chosen.length) * 2, 20), MAX_WINDOW_SIZE);
    const conditions: Filter<Document> = {};
    if (after !== undefined) conditions.seq = { $gt: after };
    if (seenChains.size > 0) conditions[chainField] = { $nin: [...seenChains] };
    const docs = await readWindow(query, flatAnd(query.claimable as Filter<Document>, conditions), size);
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

/** The first `size` claimable records by sequence: one query per status, merged. */
async function readWindow<D extends { seq: number }>(
  query: ClaimWindowQuery<D>,
  filter: Filter<Document>,
  size: number,
): Promise<D[]> {
  const collection = query.collection as unknown as Collection<Document>;
  const perStatus = await Promise.all(
    query.statuses.map(
      (status) =>
        collection
          .find({ ...filter, status }, { sort: { seq: 1 }, limit: size })
          .toArray() as unknown as Promise<D[]>,
    ),
  );
  const merged = perStatus.length === 1 ? perStatus[0]! : perStatus.flat().sort((a, b) => a.seq - b.seq);
  return merged.slice(0, size);
}

/** Chains among `heads` that have an unfinished record before their head. */
async function blockedChains<D extends { seq: number }>(
  query: ClaimWindowQuery<D>,
  heads: ReadonlyMap<string, D>,
): Promise<Set<string>> {
  const before = [...heads].map(([chain, head]) => ({ [query.chainField]: chain, seq: { $lt: head.seq } }));
  const collection = query.collection as unknown as Collection<Document>;
  const found = await Promise.all(
    query.unfinished.map((status) => collection.distinct(query.chainField, { status, $or: before })),
  );
  return new Set(found.flat().filter((chain): chain is string => typeof chain === 'string'));
}

function chainOf(doc: object, field: string): string | null {
  const value = (doc as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : null;
}
