import {
  type BeginResult,
  type Fence,
  HeraldError,
  type InboxBegin,
  type InboxChain,
  type InboxClaimRequest,
  type InboxFailure,
  type InboxKey,
  type InboxParking,
  type InboxRecord,
  type InboxStore,
  PARKED_REASON,
  type RecordQuery,
} from '@herald/core';
import type { ClientSession, Filter } from 'mongodb';
import { findClaimable } from './claim-window.js';
import { ERROR_HISTORY, type InboxDocument, NOT_LEASED, OPEN_INBOX } from './documents.js';
import { isDuplicateKey } from './errors.js';
import { deleteFinished } from './expiry.js';
import type { FenceGuard } from './fence-guard.js';
import { type LeaseRegistry, leaseCandidates, repairAbandoned } from './lease-registry.js';
import type { SequenceAllocator } from './sequence-allocator.js';
import { runInTransaction, sessionOf } from './sessions.js';
import type { StoreContext } from './store-context.js';
import { decodeMessage, encodeMessage } from './wire-codec.js';

const MAX_WRITE_ATTEMPTS = 3;
/** Owner recorded on an entry taken over by `tryBegin` (diagnostics only). */
const TAKEOVER_OWNER = 'consumer';

/** The inbox key as one `_id`: unique by construction, unambiguous for any handler name. */
export const inboxId = (handler: string, messageId: string): string => JSON.stringify([handler, messageId]);

const chainOf = (handler: string, orderingKey: string | null): string | null =>
  orderingKey === null ? null : JSON.stringify([handler, orderingKey]);

/**
 * InboxStore on a MongoDB collection. With transactions on, `transaction(work)`
 * is a session in `withTransaction`: the handler's writes through `tx` and the
 * inbox entry commit together. With `transactions: 'off'`, `work` runs with
 * `tx` undefined and the entry is written on its own (duplicates are still
 * absorbed; a crash between the handler and `complete` repeats the handler).
 *
 * Create it with `mongoEventLog(client, …)`, not directly.
 */
export class MongoInboxStore implements InboxStore {
  /** Engine name for logs: `mongodb`. */
  readonly name = 'mongodb';
  /** Identity of the database (option `databaseName`, default the `db` name): part of lock keys. */
  readonly databaseName: string;
  readonly transactional: boolean;
  readonly durable = true;
  readonly #context: StoreContext<InboxDocument>;
  readonly #sequences: SequenceAllocator;
  readonly #leases: LeaseRegistry;
  /** The retry processor's lock tokens (`<inbox>_fences`). */
  readonly #fences: FenceGuard;

  /** @internal */
  constructor(
    context: StoreContext<InboxDocument>,
    parts: { sequences: SequenceAllocator; leases: LeaseRegistry; fences: FenceGuard },
  ) {
    this.#context = context;
    this.databaseName = context.databaseName;
    this.transactional = context.transactions !== 'off';
    this.#sequences = parts.sequences;
    this.#leases = parts.leases;
    this.#fences = parts.fences;
  }

  async transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T> {
    if (this.#context.transactions === 'off') return work(undefined);
    await this.#context.ready();
    return runInTransaction(this.#context.client, work);
  }

  /**
   * One upsert per entry: MongoDB's `insertMany` reports clashes per document,
   * but FerretDB's non-atomic upserts need the per-entry path anyway.
   */
  async beginMany(entries: readonly InboxBegin[], tx?: unknown): Promise<BeginResult[]> {
    const results: BeginResult[] = [];
    for (const entry of entries) results.push(await this.tryBegin(entry, tx));
    return results;
  }

  async tryBegin(key: InboxBegin, tx?: unknown): Promise<BeginResult> {
    const session = sessionOf(tx, this.#context.transactions);
    await this.#context.ready();
    const collection = this.#context.collection;
    const _id = inboxId(key.handler, key.messageId);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const seq = await this.#sequences.reserve(1);
      const fresh: Omit<InboxDocument, '_id'> = {
        messageId: key.messageId,
        handler: key.handler,
        eventName: key.eventName,
        orderingKey: key.orderingKey,
        chain: chainOf(key.handler, key.orderingKey),
        seq,
        status: 'processing',
        attempts: 0,
        receivedAt: key.now,
        updatedAt: key.now,
        nextAttemptAt: null,
        lastError: null,
        message: null,
        lease: 0,
        leaseUntil: new Date(key.now.getTime() + key.leaseMs),
        owner: TAKEOVER_OWNER,
      };
      let existing: InboxDocument | null;
      try {
        // Insert-if-absent in one statement; `before` is null exactly when this call inserted.
        existing = await collection.findOneAndUpdate(
          { _id },
          { $setOnInsert: fresh },
          { upsert: true, returnDocument: 'before', ...(session ? { session } : {}) },
        );
      } catch (error) {
        // Outside a transaction FerretDB's upsert (find, then insert) can lose the insert to a concurrent one.
        if (session || !isDuplicateKey(error)) throw error;
        existing = await collection.findOne({ _id });
        if (!existing) continue;
      }
      if (existing === null) return 'begun';
      return this.#beginExisting(existing, key, session);
    }
    throw new HeraldError('HERALD_MONGO_INBOX_CONFLICT', `Could not begin inbox entry ${_id}`);
  }

  async #beginExisting(
    existing: InboxDocument,
    key: { leaseMs: number; now: Date },
    session: ClientSession | undefined,
  ): Promise<BeginResult> {
    if (existing.status !== 'processing') return 'duplicate';
    if (existing.leaseUntil > key.now) return 'busy';
    // An abandoned handling: take it over, exclusively, through a lease grant.
    const request = {
      record: existing._id,
      gen: existing.lease + 1,
      until: new Date(key.now.getTime() + key.leaseMs),
      owner: TAKEOVER_OWNER,
    };
    const won = await this.#leases.take([request], key.now);
    if (won.size === 0) {
      await repairAbandoned(this.#context.collection, this.#leases, [request], key.now);
      return 'busy';
    }
    // Inside the handler's transaction: it has read this entry, so a write from outside would conflict with
    // its own `complete`. If it rolls back, the grant stays taken and the entry is taken over after it expires.
    const updated = await this.#context.collection.updateOne(
      { _id: existing._id, lease: existing.lease, status: 'processing' },
      { $set: { lease: request.gen, leaseUntil: request.until, owner: TAKEOVER_OWNER, updatedAt: key.now } },
      session ? { session } : {},
    );
    return updated.matchedCount > 0 ? 'begun' : 'busy';
  }

  async complete(key: InboxKey, now: Date, tx?: unknown, fence?: Fence): Promise<void> {
    const session = sessionOf(tx, this.#context.transactions);
    await this.#context.ready();
    // Checked before the write (one read): without transactions MongoDB cannot tie the two.
    await this.#fences.check(fence);
    await this.#context.collection.updateOne(
      { _id: inboxId(key.handler, key.messageId) },
      {
        $set: {
          status: 'processed',
          message: null,
          nextAttemptAt: null,
          leaseUntil: NOT_LEASED,
          owner: null,
          updatedAt: now,
        },
      },
      session ? { session } : {},
    );
  }

  async fail(failure: InboxFailure, now: Date): Promise<void> {
    await this.#context.ready();
    const collection = this.#context.collection;
    const _id = inboxId(failure.handler, failure.messageId);
    const update = {
      status: failure.nextAttemptAt === null ? ('dead' as const) : ('failed' as const),
      attempts: failure.attempts,
      lastError: failure.error,
      nextAttemptAt: failure.nextAttemptAt,
      message: encodeMessage(failure.message),
      leaseUntil: NOT_LEASED,
      owner: null,
      updatedAt: now,
    };
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      // A processed entry is final: a late failure report never reopens it.
      const updated = await collection.updateOne(
        { _id, status: { $ne: 'processed' } },
        {
          $set: update,
          $push: { errorHistory: { $each: [{ at: now, error: failure.error }], $slice: -ERROR_HISTORY } },
        },
      );
      if (updated.matchedCount > 0) return;
      const seq = await this.#sequences.reserve(1);
      try {
        await collection.insertOne({
          _id,
          messageId: failure.messageId,
          handler: failure.handler,
          eventName: failure.eventName,
          orderingKey: failure.orderingKey,
          chain: chainOf(failure.handler, failure.orderingKey),
          seq,
          receivedAt: now,
          lease: 0,
          ...update,
          errorHistory: [{ at: now, error: failure.error }],
        });
        return;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      // The entry exists after all: processed (keep it) or inserted concurrently (update it).
      const existing = await collection.findOne({ _id }, { projection: { status: 1 } });
      if (existing?.status === 'processed') return;
    }
    throw new HeraldError('HERALD_MONGO_INBOX_CONFLICT', `Could not store the failure of inbox entry ${_id}`);
  }

  async blockedChains(chains: readonly InboxChain[]): Promise<boolean[]> {
    if (chains.length === 0) return [];
    await this.#context.ready();
    const wanted = chains.map((chain) => chainOf(chain.handler, chain.orderingKey)!);
    const found = await this.#context.collection
      .find({ chain: { $in: wanted }, status: 'failed' }, { projection: { chain: 1 } })
      .toArray();
    const parked = new Set(found.map((document) => document.chain));
    return wanted.map((chain) => parked.has(chain));
  }

  async park(parking: InboxParking, now: Date): Promise<void> {
    await this.#context.ready();
    const seq = await this.#sequences.reserve(1);
    try {
      await this.#context.collection.insertOne({
        _id: inboxId(parking.handler, parking.messageId),
        messageId: parking.messageId,
        handler: parking.handler,
        eventName: parking.eventName,
        orderingKey: parking.orderingKey,
        chain: chainOf(parking.handler, parking.orderingKey),
        seq,
        status: 'failed',
        attempts: 0,
        receivedAt: now,
        updatedAt: now,
        nextAttemptAt: now,
        lastError: PARKED_REASON,
        errorHistory: [{ at: now, error: PARKED_REASON }],
        message: encodeMessage(parking.message),
        lease: 0,
        leaseUntil: NOT_LEASED,
        owner: null,
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error; // an existing entry is left as it is
    }
  }

  async claimDue(request: InboxClaimRequest): Promise<InboxRecord[]> {
    await this.#context.ready();
    const { now } = request;
    if (request.handlers && request.handlers.length === 0) return [];
    await this.#fences.enter(request.fence);
    // Only this bus's handlers: services sharing the collection never take each other's entries.
    const mine = request.handlers ? { handler: { $in: [...request.handlers] } } : {};
    const candidates = await findClaimable({
      collection: this.#context.collection,
      statuses: ['failed'],
      claimable: { nextAttemptAt: { $lte: now }, leaseUntil: { $lte: now }, ...mine },
      unfinished: OPEN_INBOX,
      chainField: 'chain',
      limit: request.limit,
    });
    const leased = await leaseCandidates(
      this.#context.collection,
      this.#leases,
      candidates,
      { now, leaseMs: request.leaseMs, owner: request.owner },
      { statuses: ['failed'], test: (doc) => doc.status === 'failed' },
    );
    // A newer holder appeared while we leased: hand the entries back and refuse (as the outbox does).
    await this.#fences.check(request.fence).catch(async (error: unknown) => {
      if (leased.length > 0) {
        await this.#context.collection.updateMany(
          { _id: { $in: leased.map((doc) => doc._id) }, status: 'failed' },
          { $set: { leaseUntil: NOT_LEASED, owner: null } },
        );
      }
      throw error;
    });
    return leased.map(toRecord);
  }

  async deleteExpired(before: Date, limit: number): Promise<number> {
    await this.#context.ready();
    const deleted = await deleteFinished(
      this.#context.collection,
      { status: 'processed', updatedAt: { $lt: before } },
      limit,
    );
    await this.#leases.prune(before, limit);
    await this.#sequences.prune(before, limit);
    return deleted;
  }

  async list(query: RecordQuery & { handler?: string }): Promise<InboxRecord[]> {
    await this.#context.ready();
    const filter: Filter<InboxDocument> = {};
    if (query.status !== undefined) filter.status = query.status as InboxDocument['status'];
    if (query.eventName !== undefined) filter.eventName = query.eventName;
    if (query.handler !== undefined) filter.handler = query.handler;
    if (query.before !== undefined) filter.receivedAt = { $lt: query.before };
    const docs = await this.#context.collection
      .find(filter, { sort: { seq: 1 }, limit: query.limit ?? 100 })
      .toArray();
    return docs.map(toRecord);
  }

  async requeue(keys: readonly InboxKey[], now: Date): Promise<number> {
    if (keys.length === 0) return 0;
    await this.#context.ready();
    const result = await this.#context.collection.updateMany(
      {
        _id: { $in: keys.map((key) => inboxId(key.handler, key.messageId)) },
        status: { $in: ['failed', 'dead'] },
      },
      {
        $set: {
          status: 'failed',
          attempts: 0,
          nextAttemptAt: now,
          leaseUntil: NOT_LEASED,
          owner: null,
          updatedAt: now,
        },
      },
    );
    return result.matchedCount;
  }

  /** Operators: deletes entries; a purged entry no longer deduplicates its message. Returns how many. */
  async purge(keys: readonly InboxKey[]): Promise<number> {
    if (keys.length === 0) return 0;
    await this.#context.ready();
    const ids = keys.map((key) => inboxId(key.handler, key.messageId));
    return (await this.#context.collection.deleteMany({ _id: { $in: ids } })).deletedCount;
  }
}

function toRecord(doc: InboxDocument): InboxRecord {
  return {
    messageId: doc.messageId,
    handler: doc.handler,
    eventName: doc.eventName,
    // `?? null`: FerretDB 1.24 leaves out the null fields of an upsert's $setOnInsert.
    orderingKey: doc.orderingKey ?? null,
    sequence: doc.seq,
    status: doc.status,
    attempts: doc.attempts,
    receivedAt: doc.receivedAt,
    nextAttemptAt: doc.nextAttemptAt ?? null,
    lastError: doc.lastError ?? null,
    errorHistory: doc.errorHistory ?? [],
    message: doc.message ? decodeMessage(doc.message) : null,
  };
}
