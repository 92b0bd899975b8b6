import {
  type Fence,
  type OutboxEntry,
  type OutboxFailure,
  type OutboxRecord,
  type OutboxStore,
  type RecordQuery,
  type WireMessage,
  withSequence,
} from '@herald/core';
import { type ClientSession, type Filter, MongoBulkWriteError } from 'mongodb';
import type { ChangeStreamWake, WakeState } from './change-stream-wake.js';
import { findClaimable } from './claim-window.js';
import { ERROR_HISTORY, NOT_LEASED, OPEN_OUTBOX, type OutboxDocument } from './documents.js';
import { DUPLICATE_KEY } from './errors.js';
import { deleteFinished } from './expiry.js';
import type { FenceGuard } from './fence-guard.js';
import { type LeaseRegistry, leaseCandidates } from './lease-registry.js';
import type { SequenceAllocator } from './sequence-allocator.js';
import { runInTransaction, sessionOf } from './sessions.js';
import { updateByIdsInStatuses } from './status-filters.js';
import type { StoreContext } from './store-context.js';
import { decodeBody, decodeHeaders, encodeBody, encodeHeaders } from './wire-codec.js';

/*
 * Writes here never send an `update` command with several statements (a `bulkWrite` of updates):
 * FerretDB 1.24 keeps each statement's read open until the whole command ends, one PostgreSQL
 * connection each, and a bulk of ~50 exhausts its pool and deadlocks the server. Same-shaped updates
 * go as one `updateMany` instead.
 */

/**
 * OutboxStore on a MongoDB collection. Records are written with the caller's
 * `ClientSession` (inside `session.withTransaction`) so they commit with the
 * business data; claims are leased through `LeaseRegistry`, so several
 * relays never get the same record while its lease lives.
 *
 * Create it with `mongoEventLog(client, …)`, not directly.
 */
export class MongoOutboxStore implements OutboxStore {
  readonly name = 'mongodb';
  readonly databaseName: string;
  readonly transactional: boolean;
  readonly #context: StoreContext<OutboxDocument>;
  readonly #sequences: SequenceAllocator;
  readonly #leases: LeaseRegistry;
  readonly #fences: FenceGuard;
  readonly #wake: ChangeStreamWake;

  /** @internal */
  constructor(
    context: StoreContext<OutboxDocument>,
    parts: {
      sequences: SequenceAllocator;
      leases: LeaseRegistry;
      fences: FenceGuard;
      wake: ChangeStreamWake;
    },
  ) {
    this.#context = context;
    this.databaseName = context.databaseName;
    this.transactional = context.transactions !== 'off';
    this.#sequences = parts.sequences;
    this.#leases = parts.leases;
    this.#fences = parts.fences;
    this.#wake = parts.wake;
  }

  /** How this store learns about records committed elsewhere (change stream or polling). */
  get wakeState(): WakeState {
    return this.#wake.state;
  }

  /** Resolves once the change stream has opened or the store has fallen back to polling. */
  wakeSettled(): Promise<WakeState> {
    return this.#wake.settled();
  }

  async add(messages: readonly OutboxEntry[], tx?: unknown): Promise<void> {
    const session = sessionOf(tx, this.#context.transactions);
    if (messages.length === 0) return;
    await this.#context.ready();
    // Without a caller's transaction the batch is still all-or-nothing when transactions are on.
    if (!session && this.#context.transactions === 'required') {
      await runInTransaction(this.#context.client, (own) => this.#insert(messages, own));
      return;
    }
    await this.#insert(messages, session);
  }

  async #insert(messages: readonly OutboxEntry[], session: ClientSession | undefined): Promise<void> {
    const collection = this.#context.collection;
    const inSession = session ? { session } : {};
    // Adding an id again never creates a second record: ids already stored are skipped.
    const notStored = async (entries: Iterable<OutboxEntry>) => {
      const byId = new Map([...entries].map((entry) => [entry.message.id, entry]));
      const stored = await collection
        .find({ _id: { $in: [...byId.keys()] } }, { projection: { _id: 1 }, ...inSession })
        .toArray();
      for (const { _id } of stored) byId.delete(_id);
      return [...byId.values()];
    };
    // Outside a transaction the ordered insert itself finds an id already stored (duplicate key, handled
    // below), so the common case skips the lookup, an `_id: { $in }` that FerretDB answers with a scan.
    // Inside one a duplicate would abort the transaction: look first.
    let remaining = session ? await notStored(messages) : [...messages];
    // Every retry drops at least the id that clashed, so this ends after at most one try per message.
    for (let attempt = 0; remaining.length > 0; attempt++) {
      const first = await this.#sequences.reserve(remaining.length);
      const createdAt = new Date();
      const docs = remaining.map((entry, i) => newRecord(entry, first + i, createdAt));
      try {
        // Plain inserts, not upserts: FerretDB 1.24 drops null fields from $setOnInsert (and see the top note).
        await collection.insertMany(docs, { ordered: true, ...inSession });
        return;
      } catch (error) {
        // In a transaction any error has aborted it already (a concurrent add of the same id in another
        // transaction is a write conflict, which withTransaction retries).
        if (session || !(error instanceof MongoBulkWriteError)) throw error;
        const writeError = Array.isArray(error.writeErrors) ? error.writeErrors[0] : error.writeErrors;
        if (!writeError || writeError.code !== DUPLICATE_KEY || attempt >= messages.length) throw error;
        // A concurrent add of the same id won its insert. The ordered insert stopped there: the records
        // before it are in; the rest that are not stored by now go again, with fresh (higher) numbers.
        remaining = await notStored(remaining.slice(writeError.index));
      }
    }
  }

  async claim(request: {
    limit: number;
    leaseMs: number;
    owner: string;
    now: Date;
    shard?: { index: number; count: number };
    exclusive?: boolean;
    fence?: Fence;
  }): Promise<OutboxRecord[]> {
    await this.#context.ready();
    await this.#fences.enter(request.fence);
    const { now } = request;
    const claimable: Filter<OutboxDocument> = {
      dueAt: { $lte: now },
      leaseUntil: { $lte: now },
      ...(request.shard ? { bucket: { $mod: [request.shard.count, request.shard.index] } } : {}),
    };
    const candidates = await findClaimable({
      collection: this.#context.collection,
      statuses: OPEN_OUTBOX,
      claimable,
      unfinished: OPEN_OUTBOX,
      chainField: 'key',
      limit: request.limit,
    });
    // The caller holds the lock: no grant, no lease write; the mark is the one rewrite.
    if (request.exclusive) {
      await this.#fences.check(request.fence);
      return candidates.map(toRecord);
    }
    const leased = await leaseCandidates(
      this.#context.collection,
      this.#leases,
      candidates,
      { now, leaseMs: request.leaseMs, owner: request.owner },
      { statuses: OPEN_OUTBOX, test: (doc) => OPEN_OUTBOX.includes(doc.status) },
    );
    // A newer holder appeared while we leased: hand the records back and refuse.
    await this.#fences.check(request.fence).catch(async (error: unknown) => {
      await this.release(leased.map((doc) => doc._id));
      throw error;
    });
    return leased.map(toRecord);
  }

  async markPublished(ids: readonly string[], now: Date, fence?: Fence): Promise<void> {
    if (ids.length === 0) return;
    await this.#context.ready();
    await this.#fences.enter(fence);
    await updateByIdsInStatuses(this.#context.collection, ids, OPEN_OUTBOX, {
      $set: { status: 'published', publishedAt: now, dueAt: null, leaseUntil: NOT_LEASED, owner: null },
    });
  }

  async markFailed(failures: readonly OutboxFailure[], now: Date, fence?: Fence): Promise<void> {
    if (failures.length === 0) return;
    await this.#context.ready();
    await this.#fences.enter(fence);
    // One updateMany per distinct outcome (usually one), not a bulk of updates (see the note at the top).
    const outcomes = new Map<string, { failure: OutboxFailure; ids: string[] }>();
    for (const failure of failures) {
      const key = JSON.stringify([failure.error, failure.nextAttemptAt?.getTime() ?? null]);
      const outcome = outcomes.get(key) ?? { failure, ids: [] };
      outcome.ids.push(failure.id);
      outcomes.set(key, outcome);
    }
    for (const { failure, ids } of outcomes.values()) {
      // Only unfinished records: a published (or dead) record is never downgraded. `failed` first:
      // the pending records this turns into `failed` must not be matched (and counted) again.
      await updateByIdsInStatuses(this.#context.collection, ids, ['failed', 'pending'], {
        $set: {
          status: failure.nextAttemptAt === null ? 'dead' : 'failed',
          lastError: failure.error,
          nextAttemptAt: failure.nextAttemptAt,
          dueAt: failure.nextAttemptAt,
          leaseUntil: NOT_LEASED,
          owner: null,
        },
        $inc: { attempts: 1 },
        $push: { errorHistory: { $each: [{ at: now, error: failure.error }], $slice: -ERROR_HISTORY } },
      });
    }
  }

  async release(ids: readonly string[], fence?: Fence): Promise<void> {
    if (ids.length === 0) return;
    await this.#context.ready();
    await this.#fences.enter(fence);
    await updateByIdsInStatuses(this.#context.collection, ids, OPEN_OUTBOX, {
      $set: { leaseUntil: NOT_LEASED, owner: null },
    });
  }

  async deleteExpired(before: Date, limit: number): Promise<number> {
    await this.#context.ready();
    const deleted = await deleteFinished(
      this.#context.collection,
      { status: 'published', publishedAt: { $lt: before } },
      limit,
    );
    await this.#leases.prune(before, limit);
    await this.#sequences.prune(before, limit);
    return deleted;
  }

  onWake(listener: () => void): () => void {
    return this.#wake.subscribe(listener);
  }

  async list(query: RecordQuery): Promise<OutboxRecord[]> {
    await this.#context.ready();
    const filter: Filter<OutboxDocument> = {};
    if (query.status !== undefined) filter.status = query.status as OutboxDocument['status'];
    if (query.eventName !== undefined) filter.name = query.eventName;
    if (query.before !== undefined) filter.createdAt = { $lt: query.before };
    const docs = await this.#context.collection
      .find(filter, { sort: { seq: 1 }, limit: query.limit ?? 100 })
      .toArray();
    return docs.map(toRecord);
  }

  async requeue(ids: readonly string[], now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    await this.#context.ready();
    const result = await this.#context.collection.updateMany(
      { _id: { $in: [...ids] }, status: { $in: ['failed', 'dead'] } },
      {
        $set: {
          status: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          dueAt: NOT_LEASED,
          leaseUntil: NOT_LEASED,
          owner: null,
        },
      },
    );
    return result.matchedCount;
  }

  /** Operators: deletes records by id, whatever their status; returns how many were deleted. */
  async purge(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    await this.#context.ready();
    return (await this.#context.collection.deleteMany({ _id: { $in: [...ids] } })).deletedCount;
  }

  /**
   * Unfinished (pending or failed) records and since when the oldest waits: metrics and health.
   * A pending record with a due time (delayed publish, requeue) waits from then; not yet due, not at all.
   */
  async backlog(): Promise<{
    /** Records not yet published: `pending` (delayed ones included) and `failed`. */
    pending: number;
    /** Since when the oldest due record waits (creation, or due time of a delayed/requeued one); null when none waits. */
    oldestCreatedAt: Date | null;
  }> {
    await this.#context.ready();
    const collection = this.#context.collection;
    // One status per query (see status-filters.ts), in parallel; two reads, not one $min: FerretDB
    // 1.24 has no $min accumulator.
    const oldestBySeq = (filter: Filter<OutboxDocument>) =>
      collection.find(filter, { sort: { seq: 1 }, limit: 1, projection: { createdAt: 1, seq: 1 } }).next();
    const [counts, firstFailed, firstPending, due] = await Promise.all([
      Promise.all(OPEN_OUTBOX.map((status) => collection.countDocuments({ status }))),
      oldestBySeq({ status: 'failed' }),
      oldestBySeq({ status: 'pending', nextAttemptAt: null }),
      collection
        .find(
          { status: 'pending', nextAttemptAt: { $ne: null, $lte: new Date() } },
          { sort: { nextAttemptAt: 1 }, limit: 1, projection: { nextAttemptAt: 1 } },
        )
        .next(),
    ]);
    const pending = counts.reduce((sum, count) => sum + count, 0);
    const first = [firstFailed, firstPending]
      .filter((doc) => doc !== null)
      .sort((a, b) => a!.seq - b!.seq)[0];
    const times = [first?.createdAt, due?.nextAttemptAt].filter((time): time is Date => time instanceof Date);
    const oldest = times.length === 0 ? null : new Date(Math.min(...times.map((time) => time.getTime())));
    return { pending, oldestCreatedAt: oldest };
  }

  /** Stops the change stream; never closes the user's client. */
  async close(): Promise<void> {
    await this.#wake.close();
  }
}

function newRecord(
  { message, bucket, nextAttemptAt }: OutboxEntry,
  seq: number,
  createdAt: Date,
): OutboxDocument {
  return {
    _id: message.id,
    seq,
    bucket,
    status: 'pending',
    name: message.name,
    key: message.orderingKey ?? null,
    headers: encodeHeaders(message.headers),
    body: encodeBody(message.body),
    attempts: 0,
    createdAt,
    // Pending records are due at once, or at their delayed-publish time.
    dueAt: nextAttemptAt ?? NOT_LEASED,
    nextAttemptAt: nextAttemptAt ?? null,
    lastError: null,
    publishedAt: null,
    lease: 0,
    leaseUntil: NOT_LEASED,
    owner: null,
  };
}

function toRecord(doc: OutboxDocument): OutboxRecord {
  const message: WireMessage = {
    id: doc._id,
    name: doc.name,
    ...(typeof doc.key === 'string' ? { orderingKey: doc.key } : {}),
    headers: decodeHeaders(doc.headers),
    body: decodeBody(doc.body),
  };
  return {
    message: withSequence(message, doc.seq),
    sequence: doc.seq,
    bucket: doc.bucket,
    status: doc.status,
    attempts: doc.attempts,
    createdAt: doc.createdAt,
    // `?? null`: FerretDB 1.24 leaves out the null fields of an upsert's $setOnInsert.
    nextAttemptAt: doc.nextAttemptAt ?? null,
    lastError: doc.lastError ?? null,
    errorHistory: doc.errorHistory ?? [],
    publishedAt: doc.publishedAt ?? null,
  };
}
