import { ConfigurationError, type IntegrationEventBus, recordedEvents } from '@herald/core';
import type {
  ClientSession,
  Collection,
  DeleteResult,
  Document,
  Filter,
  FindOneAndUpdateOptions,
  InsertOneResult,
  OptionalUnlessRequiredId,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
  WithId,
} from 'mongodb';
import {
  type CapturedChange,
  type EntityEventOptions,
  EntityEventPublisher,
} from '../entity-event-publisher.js';
import { EntityEventsTransactionError, EntityEventsUnsupportedError } from '../errors.js';
import { type EntitySelector, isSelected } from '../selectors.js';

/** Automatic version field (ABP's `IHasEntityVersion`). */
export interface MongoVersioningOptions {
  /** The version field. Default `version`. */
  readonly field?: string;
  /** Entity types whose version the helper maintains. Default: every selected one. */
  readonly models?: readonly EntitySelector[];
  /** Version of inserted documents. Default 1 (upserts always start at 1). */
  readonly initial?: () => number;
}

/** Options of {@link mongoEntityEvents}. */
export interface MongoEntityEventsOptions extends Omit<EntityEventOptions, 'defaultVersion' | 'defaultKeys'> {
  /** The bus whose outbox receives the events (a `mongoEventLog` on the same database). */
  readonly bus: IntegrationEventBus;
  /**
   * `'required'` (default): every write needs a `session` in an active
   * transaction (`session.withTransaction`), and its events are published with
   * `{ tx: session }`: they commit with the write or not at all. Needs a
   * replica set (or a sharded cluster).
   *
   * `'off'`, for servers without multi-document transactions (standalone,
   * FerretDB), matching `mongoEventLog(…, { transactions: 'off' })`: events
   * are published right after the write, on their own. A crash or an outbox
   * failure between the two loses the events of a write that happened.
   */
  readonly transactions?: 'required' | 'off';
  /** The logical entity type of a collection. Default: the collection name. */
  readonly entityType?: (collectionName: string) => string;
  /** Key fields of unmapped types. Default `['_id']` (ObjectIds travel as hex strings). */
  readonly defaultKeys?: readonly string[];
  /** Maintain a version field on writes (`true`: `version` on every selected collection). */
  readonly versioning?: boolean | MongoVersioningOptions;
}

/** Options of the write helpers: the driver's, with the session that carries the transaction. */
type WithSession<O> = O & { session?: ClientSession };

/**
 * Entity events for the official MongoDB driver, which has no middleware:
 * write through these helpers instead of the collection's methods.
 */
export interface MongoEntityEvents {
  /**
   * `collection.insertOne` + `created`. When `document` is an aggregate that
   * recorded events (core's `AggregateRoot`), they are published with the
   * write, in its session's transaction (or right after it with
   * `transactions: 'off'`).
   */
  insertOne<T extends Document>(
    collection: Collection<T>,
    document: OptionalUnlessRequiredId<T>,
    options?: WithSession<Record<string, unknown>>,
  ): Promise<InsertOneResult<T>>;
  /**
   * `collection.updateOne` + `updated` (or `created` for an upsert that
   * inserted). Runs as `findOneAndUpdate` to see the document after the change;
   * `modifiedCount` counts a matched document as modified.
   */
  updateOne<T extends Document>(
    collection: Collection<T>,
    filter: Filter<T>,
    update: UpdateFilter<T> | Document[],
    options?: WithSession<UpdateOptions>,
  ): Promise<UpdateResult<T>>;
  /** `collection.findOneAndUpdate` + `updated`/`created`; returns what the driver would. */
  findOneAndUpdate<T extends Document>(
    collection: Collection<T>,
    filter: Filter<T>,
    update: UpdateFilter<T> | Document[],
    options?: WithSession<FindOneAndUpdateOptions>,
  ): Promise<WithId<T> | null>;
  /** `collection.deleteOne` + `deleted` (runs as `findOneAndDelete` to carry the last state). */
  deleteOne<T extends Document>(
    collection: Collection<T>,
    filter: Filter<T>,
    options?: WithSession<Record<string, unknown>>,
  ): Promise<DeleteResult>;
  /** The publisher turning captured changes into events. */
  readonly publisher: EntityEventPublisher;
}

/**
 * Pre-defined entity events for MongoDB (ABP's entity events):
 *
 * ```ts
 * const entityEvents = mongoEntityEvents({ bus, selectors: [EntitySelectors.model('products')], versioning: true });
 * await session.withTransaction(async () => {
 *   await entityEvents.updateOne(products, { _id: id }, { $set: { price } }, { session });
 * });
 * ```
 */
export function mongoEntityEvents(options: MongoEntityEventsOptions): MongoEntityEvents {
  if (!options?.bus || typeof options.bus.publish !== 'function') {
    throw new ConfigurationError('mongoEntityEvents({ bus }) needs the integration event bus');
  }
  const transactions = options.transactions ?? 'required';
  if (transactions !== 'required' && transactions !== 'off') {
    throw new ConfigurationError(`transactions must be 'required' or 'off', got ${String(transactions)}`);
  }
  const versioning = resolveVersioning(options.versioning);
  const entityTypeOf = options.entityType ?? ((name: string) => name);
  const versionFieldOf = (entityType: string): string | undefined =>
    versioning && (!versioning.models || isSelected(versioning.models, entityType))
      ? versioning.field
      : undefined;
  const publisher = new EntityEventPublisher(options.bus, {
    ...options,
    defaultKeys: options.defaultKeys ?? ['_id'],
    keyValue: options.keyValue ?? keyValue,
    defaultVersion: (entityType, row) => {
      const field = versionFieldOf(entityType);
      const value = field ? (row as Document)[field] : undefined;
      return typeof value === 'number' ? value : undefined;
    },
  });

  /** Which entity type a collection is, and whether it publishes; checks the session before any write. */
  const prepare = (collection: Collection<any>, session: ClientSession | undefined, aggregate = false) => {
    if (!collection || typeof collection.collectionName !== 'string') {
      throw new ConfigurationError('Expected a Collection of the mongodb driver');
    }
    const entityType = entityTypeOf(collection.collectionName);
    const selected = publisher.selects(entityType);
    if ((selected || aggregate) && transactions === 'required' && !session?.inTransaction()) {
      throw new EntityEventsTransactionError(
        `A write to "${entityType}" needs { session } inside session.withTransaction(…) so its events commit ` +
          "with it (or mongoEntityEvents({ transactions: 'off' }) on servers without transactions). Nothing was written.",
      );
    }
    return { entityType, selected, versionField: selected ? versionFieldOf(entityType) : undefined };
  };

  const publish = (
    entityType: string,
    changes: Array<Omit<CapturedChange, 'entityType'>>,
    session?: ClientSession,
  ) =>
    publisher.publish(
      changes.map((change) => ({ ...change, entityType })),
      transactions === 'required' ? { tx: session } : {},
    );

  return {
    publisher,

    async insertOne(collection, document, writeOptions = {}) {
      const aggregate = recordedEvents(document as object).length > 0;
      const { entityType, selected, versionField } = prepare(collection, writeOptions.session, aggregate);
      let inserted = document as Document;
      if (versionField && !(versionField in inserted)) {
        inserted = { ...inserted, [versionField]: versioning?.initial?.() ?? 1 };
      }
      const result = await collection.insertOne(inserted as typeof document, writeOptions);
      // The driver sets _id on the document it was given; keep that for the caller's object too.
      if (inserted !== document && (document as Document)._id === undefined) {
        (document as Document)._id = result.insertedId;
      }
      if (selected)
        await publish(entityType, [{ operation: 'created', row: inserted }], writeOptions.session);
      if (aggregate) {
        await options.bus.publishRecordedEvents(
          document as object,
          transactions === 'required' ? { tx: writeOptions.session } : {},
        );
      }
      return result;
    },

    async updateOne(collection, filter, update, writeOptions = {}) {
      const { entityType, selected, versionField } = prepare(collection, writeOptions.session);
      if (!selected) return collection.updateOne(filter, update, writeOptions);
      // updateOne's options are findOneAndUpdate's (its `hint` type is only declared narrower).
      const result = await collection.findOneAndUpdate(filter, versioned(update, versionField), {
        ...(writeOptions as FindOneAndUpdateOptions),
        returnDocument: 'after',
        includeResultMetadata: true,
      });
      const upserted = result.lastErrorObject?.upserted;
      const matched = result.value && !upserted ? 1 : 0;
      if (result.value) {
        await publish(
          entityType,
          [{ operation: upserted !== undefined ? 'created' : 'updated', row: result.value }],
          writeOptions.session,
        );
      }
      return {
        acknowledged: true,
        matchedCount: matched,
        modifiedCount: matched,
        upsertedCount: upserted !== undefined ? 1 : 0,
        upsertedId: upserted ?? null,
      } as UpdateResult<any>;
    },

    async findOneAndUpdate(collection, filter, update, writeOptions = {}) {
      const { entityType, selected, versionField } = prepare(collection, writeOptions.session);
      if (!selected) return collection.findOneAndUpdate(filter, update, writeOptions);
      const { projection, ...rest } = writeOptions;
      const result = await collection.findOneAndUpdate(filter, versioned(update, versionField), {
        ...rest,
        includeResultMetadata: true,
      });
      const upserted = result.lastErrorObject?.upserted;
      const id = upserted ?? result.value?._id;
      if (id === undefined) return null;
      // The event needs the whole document after the change; the caller may have asked for less or for "before".
      const after =
        rest.returnDocument === 'after' && result.value
          ? result.value
          : await collection.findOne({ _id: id } as Filter<any>, { session: writeOptions.session });
      if (after) {
        await publish(
          entityType,
          [{ operation: upserted !== undefined ? 'created' : 'updated', row: after }],
          writeOptions.session,
        );
      }
      if (!projection || !result.value) return result.value;
      return collection.findOne({ _id: id } as Filter<any>, {
        projection,
        session: writeOptions.session,
      }) as Promise<WithId<any> | null>;
    },

    async deleteOne(collection, filter, writeOptions = {}) {
      const { entityType, selected, versionField } = prepare(collection, writeOptions.session);
      if (!selected) return collection.deleteOne(filter, writeOptions);
      const deleted = await collection.findOneAndDelete(filter, writeOptions);
      if (deleted) {
        const version = versionField ? deleted[versionField] : undefined;
        const row = typeof version === 'number' ? { ...deleted, [versionField!]: version + 1 } : deleted;
        await publish(entityType, [{ operation: 'deleted', row }], writeOptions.session);
      }
      return { acknowledged: true, deletedCount: deleted ? 1 : 0 };
    },
  };
}

/** Adds `$inc: { version: 1 }` unless the update sets the version itself. */
function versioned<T extends Document>(
  update: UpdateFilter<T> | Document[],
  field: string | undefined,
): UpdateFilter<T> | Document[] {
  if (!field) return update;
  if (Array.isArray(update)) {
    throw new EntityEventsUnsupportedError(
      'Pipeline updates cannot be versioned automatically: set the version in the pipeline and turn versioning off for this collection',
    );
  }
  const operators = update as Record<string, Record<string, unknown> | undefined>;
  if (Object.values(operators).some((fields) => fields && field in fields)) return update;
  return { ...update, $inc: { ...(operators.$inc ?? {}), [field]: 1 } } as UpdateFilter<T>;
}

interface ResolvedVersioning {
  readonly field: string;
  readonly models: readonly EntitySelector[] | undefined;
  readonly initial: (() => number) | undefined;
}

function resolveVersioning(
  option: boolean | MongoVersioningOptions | undefined,
): ResolvedVersioning | undefined {
  if (!option) return undefined;
  const settings = option === true ? {} : option;
  const field = settings.field ?? 'version';
  if (typeof field !== 'string' || field.length === 0 || field.startsWith('$')) {
    throw new ConfigurationError('versioning.field must be a field name');
  }
  return { field, models: settings.models, initial: settings.initial };
}

/** ObjectIds (and anything with `toHexString`) travel as hex strings, BigInts as decimal strings. */
function keyValue(value: unknown): string | number | undefined {
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof (value as { toHexString?: unknown } | null)?.toHexString === 'function') {
    return (value as { toHexString(): string }).toHexString();
  }
  return undefined;
}
