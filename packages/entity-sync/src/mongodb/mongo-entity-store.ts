import { ConfigurationError } from '@herald/core';
import type { ClientSession, Collection } from 'mongodb';
import type { LocalCopy, LocalEntityStore } from '../local-store.js';

/** How a local copy is stored: the entity under `entity`, Herald's bookkeeping beside it. */
export interface LocalCopyDocument<L> {
  /** The synchronizer's key of the entity. */
  _id: string;
  /** The local entity; absent on a tombstone. */
  entity?: L;
  /** Version of the last applied change; null when it was unversioned. */
  version?: number | null;
  /** True for a tombstone (query live copies with `{ deleted: false }`). */
  deleted: boolean;
  /** When the last change was applied (epoch ms). */
  appliedAt: number;
}

/** MongoDB's duplicate-key error code (FerretDB's too). */
const DUPLICATE_KEY = 11000;

/**
 * A {@link LocalEntityStore} in a MongoDB collection, one document per key
 * (`{ _id: key, entity, version, deleted, appliedAt }`; deletions keep a
 * tombstone). Writes are conditional upserts decided by the server:
 * `updateOne({ _id, $or: [{ version: { $lt: v } }, { version: null }] }, …,
 * { upsert: true })` — when the stored version is not older the filter
 * misses, the upsert's insert hits the existing `_id`, and the duplicate-key
 * error means "older, ignore".
 *
 * Inside a MongoDB transaction a duplicate-key error aborts the transaction:
 * the handler fails and is retried, and on retry the synchronizer sees the
 * newer version first and skips. Query live copies with `{ deleted: false }`.
 */
export class MongoEntityStore<L> implements LocalEntityStore<L> {
  readonly #collection: Collection<LocalCopyDocument<L>>;

  constructor(collection: Collection<any>) {
    if (!collection || typeof collection.updateOne !== 'function') {
      throw new ConfigurationError('mongoEntityStore(collection) expects a Collection of the mongodb driver');
    }
    this.#collection = collection;
  }

  async get(key: string, tx: unknown): Promise<LocalCopy<L> | undefined> {
    const document = await this.#collection.findOne({ _id: key }, { session: sessionOf(tx) });
    if (!document) return undefined;
    return {
      entity: document.deleted ? undefined : document.entity,
      version: typeof document.version === 'number' ? document.version : undefined,
      deleted: document.deleted === true,
      appliedAt: document.appliedAt ?? 0,
    };
  }

  put(key: string, entity: L, version: number | undefined, tx: unknown): Promise<void> {
    return this.#write(key, { entity, deleted: false }, version, tx);
  }

  remove(key: string, version: number | undefined, tx: unknown): Promise<void> {
    return this.#write(key, { deleted: true }, version, tx);
  }

  async keys(tx: unknown): Promise<string[]> {
    const documents = await this.#collection
      .find({ deleted: false }, { projection: { _id: 1 }, session: sessionOf(tx) })
      .toArray();
    return documents.map((document) => String(document._id));
  }

  async #write(
    key: string,
    fields: { entity?: L; deleted: boolean },
    version: number | undefined,
    tx: unknown,
  ): Promise<void> {
    const session = sessionOf(tx);
    const set = { ...fields, appliedAt: Date.now(), version: version ?? null };
    const update = fields.deleted ? { $set: set, $unset: { entity: '' as const } } : { $set: set };
    if (version === undefined) {
      // Unversioned changes always apply (ABP without IHasEntityVersion).
      await this.#collection.updateOne({ _id: key }, update as never, { upsert: true, session });
      return;
    }
    const newer = { _id: key, $or: [{ version: { $lt: version } }, { version: null }] } as never;
    try {
      await this.#collection.updateOne(newer, update as never, { upsert: true, session });
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== DUPLICATE_KEY) throw error;
      // The filter missed because the document exists: either with a version that is not older, or
      // inserted a moment ago by a concurrent first write. Now that it exists, the server can decide.
      await this.#collection.updateOne(newer, update as never, { session });
    }
  }
}

/** The local copies of a synchronizer in a MongoDB collection. */
export function mongoEntityStore<L>(collection: Collection<any>): MongoEntityStore<L> {
  return new MongoEntityStore<L>(collection);
}

function sessionOf(tx: unknown): ClientSession | undefined {
  if (tx === undefined || tx === null) return undefined;
  if (typeof (tx as Partial<ClientSession>).inTransaction !== 'function') {
    throw new ConfigurationError('mongoEntityStore expects `tx` to be a ClientSession (or nothing)');
  }
  return tx as ClientSession;
}
