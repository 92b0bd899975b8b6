import { type AnyBulkWriteOperation, type Collection, MongoBulkWriteError } from 'mongodb';
import type { LeaseDocument } from './documents.js';
import { DUPLICATE_KEY } from './errors.js';
import { updateByIdsInStatuses } from './status-filters.js';

/** Lease grants younger than this are never pruned (a claimer with a stale view must still collide). */
export const LEASE_GRANT_MIN_AGE_MS = 3_600_000;

/** A lease one claimer wants: generation `gen` of record `record`. */
export interface LeaseRequest {
  readonly record: string;
  readonly gen: number;
  readonly until: Date;
  readonly owner: string;
}

const grantId = (record: string, gen: number) => JSON.stringify([record, gen]);

/**
 * Makes leases exclusive with unique inserts instead of conditional updates.
 *
 * A conditional `updateOne({ _id, leaseUntil: { $lte: now } }, …)` is a
 * compare-and-set on MongoDB, but FerretDB 1.24 evaluates the filter, then
 * writes the whole document by `_id`: five concurrent claims "won" 249
 * leases on 50 records there. Every record therefore carries a lease
 * generation; a claimer that saw generation `g` expired inserts the grant
 * `[record, g + 1]`, and only the claimer whose insert succeeds may write the
 * lease onto the record. Unique `_id` is enforced by PostgreSQL under
 * FerretDB and by the storage engine on MongoDB, so exactly one claimer wins
 * each generation on either server.
 *
 * A winner that dies between its grant and its record update would leave the
 * record stuck at `g` with `g + 1` taken; the next loser sees that the grant
 * has expired and copies it onto the record ({@link expiredGrants}), so the
 * generation after it is free again.
 */
export class LeaseRegistry {
  readonly #grants: Collection<LeaseDocument>;

  constructor(grants: Collection<LeaseDocument>) {
    this.#grants = grants;
  }

  /** Tries every request at once; returns the records whose generation this call won. */
  async take(requests: readonly LeaseRequest[], now: Date): Promise<Set<string>> {
    if (requests.length === 0) return new Set();
    const operations: AnyBulkWriteOperation<LeaseDocument>[] = requests.map((request) => ({
      insertOne: {
        document: {
          _id: grantId(request.record, request.gen),
          record: request.record,
          gen: request.gen,
          until: request.until,
          owner: request.owner,
          at: now,
        },
      },
    }));
    const lost = new Set<number>();
    try {
      await this.#grants.bulkWrite(operations, { ordered: false });
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      if (writeErrors.length === 0 || writeErrors.some((writeError) => writeError.code !== DUPLICATE_KEY)) {
        throw error;
      }
      for (const writeError of writeErrors) lost.add(writeError.index);
    }
    return new Set(requests.filter((_, index) => !lost.has(index)).map((request) => request.record));
  }

  /** The grants among `requests` that someone else won and whose lease has expired by `now`. */
  async expiredGrants(requests: readonly LeaseRequest[], now: Date): Promise<LeaseDocument[]> {
    if (requests.length === 0) return [];
    return this.#grants
      .find({
        _id: { $in: requests.map((request) => grantId(request.record, request.gen)) },
        until: { $lte: now },
      })
      .toArray();
  }

  /** Deletes up to `limit` old grants. */
  async prune(before: Date, limit: number): Promise<void> {
    const cutoff = new Date(Math.min(before.getTime(), Date.now() - LEASE_GRANT_MIN_AGE_MS));
    const old = await this.#grants.find({ at: { $lt: cutoff } }, { projection: { _id: 1 }, limit }).toArray();
    if (old.length > 0) await this.#grants.deleteMany({ _id: { $in: old.map((grant) => grant._id) } });
  }
}

/** The fields every leasable document has (outbox records and inbox entries). */
export interface LeasableDocument {
  _id: string;
  seq: number;
  lease: number;
  leaseUntil: Date;
  owner: string | null;
}

/** One lease to put on claimed documents. */
export interface LeaseTerms {
  readonly now: Date;
  readonly leaseMs: number;
  readonly owner: string;
}

/**
 * Leases `candidates` (found claimable a moment ago) for one claimer and
 * returns, in sequence order, the documents it won, as they are now.
 *
 * 1. one grant insert per candidate (unordered bulk): the winners are decided here;
 * 2. lost grants that have expired are copied onto their records (see {@link LeaseRegistry});
 * 3. a conditional update per lease generation (still that generation, still claimable:
 *    one claimable status at a time) writes the lease onto the records;
 * 4. if any update did not match (the record changed meanwhile: published by a
 *    relay whose lease had expired, requeued…), the winners are read back and
 *    only those still carrying this lease and still claimable are returned.
 */
export async function leaseCandidates<D extends LeasableDocument>(
  collection: Collection<D>,
  registry: LeaseRegistry,
  candidates: readonly D[],
  terms: LeaseTerms,
  stillClaimable: { statuses: readonly string[]; test: (doc: D) => boolean },
): Promise<D[]> {
  if (candidates.length === 0) return [];
  const until = new Date(terms.now.getTime() + terms.leaseMs);
  const requests = candidates.map((doc) => ({
    record: doc._id,
    gen: doc.lease + 1,
    until,
    owner: terms.owner,
  }));
  const won = await registry.take(requests, terms.now);
  const lost = requests.filter((request) => !won.has(request.record));
  if (lost.length > 0) await repairAbandoned(collection, registry, lost, terms.now);
  const winners = candidates.filter((doc) => won.has(doc._id));
  if (winners.length === 0) return [];

  const leased = collection as unknown as Collection<LeasableDocument>;
  // One updateMany per generation (usually one or two), never a bulk of updates: FerretDB 1.24 holds a
  // PostgreSQL connection per statement of an `update` command until it ends, and deadlocks at ~50.
  const byGeneration = new Map<number, string[]>();
  for (const doc of winners) byGeneration.set(doc.lease, [...(byGeneration.get(doc.lease) ?? []), doc._id]);
  let matched = 0;
  for (const [lease, ids] of byGeneration) {
    matched += await updateByIdsInStatuses(
      leased,
      ids,
      stillClaimable.statuses,
      { $set: { lease: lease + 1, leaseUntil: until, owner: terms.owner } },
      { lease },
    );
  }
  if (matched === winners.length) {
    return winners.map((doc) => ({ ...doc, lease: doc.lease + 1, leaseUntil: until, owner: terms.owner }));
  }
  const generation = new Map(winners.map((doc) => [doc._id, doc.lease + 1]));
  const current = (await leased
    .find({ _id: { $in: winners.map((doc) => doc._id) } }, { sort: { seq: 1 } })
    .toArray()) as unknown as D[];
  return current.filter(
    (doc) => doc.lease === generation.get(doc._id) && doc.owner === terms.owner && stillClaimable.test(doc),
  );
}

/** Copies expired grants whose winner never wrote them onto their records (it died in between). */
export async function repairAbandoned<D extends LeasableDocument>(
  target: Collection<D>,
  registry: LeaseRegistry,
  lost: readonly LeaseRequest[],
  now: Date,
): Promise<void> {
  const abandoned = await registry.expiredGrants(lost, now);
  if (abandoned.length === 0) return;
  const collection = target as unknown as Collection<LeasableDocument>;
  for (const grant of abandoned) {
    await collection.updateOne(
      { _id: grant.record, lease: grant.gen - 1 },
      { $set: { lease: grant.gen, leaseUntil: grant.until, owner: grant.owner } },
    );
  }
}
