import { InProcessBroker } from '@herald/core';
import type { MongoEventLog } from '@herald/outbox-mongo';
import { type Db, type MongoClient, ObjectId } from 'mongodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntitySelectors, EntitySynchronizer, entityEvents } from '../src/index.js';
import {
  EntityEventsTransactionError,
  EntityEventsUnsupportedError,
  type MongoEntityEventsOptions,
  mongoEntityEvents,
  mongoEntityStore,
} from '../src/mongodb/index.js';
import { Buses } from './helpers/common.js';
import { clearDatabase, connectMongo, mongoBus, mongoOutboxEvents, uniqueDbName } from './helpers/mongo.js';

/*
 * FerretDB 1.x has no multi-document transactions: the helpers run with
 * `transactions: 'off'` (events published right after each write) and the
 * event log likewise. What `'required'` does on such a server — refuse, before
 * writing — is tested here; the atomic path needs a replica set (README).
 */

interface Product {
  _id: string;
  name: string;
  price: number;
  version?: number;
}
interface ProductEto {
  id: string;
  name: string;
  price: number;
}
const ProductEvents = entityEvents<ProductEto>('catalog.product');

const dbName = uniqueDbName('mongodb');
let client: MongoClient;
let db: Db;
const buses = new Buses();
const logs: MongoEventLog[] = [];

beforeAll(async () => {
  client = await connectMongo();
  db = client.db(dbName);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});
beforeEach(async () => {
  await clearDatabase(db);
});
afterEach(async () => {
  await buses.stopAll();
  await Promise.allSettled(logs.splice(0).map((log) => log.close()));
});

function catalog(options: Partial<MongoEntityEventsOptions> = {}, broker = new InProcessBroker()) {
  const { builder, log } = mongoBus('catalog', client, dbName, broker);
  logs.push(log);
  const bus = buses.track(builder.build());
  const events = mongoEntityEvents({
    bus,
    transactions: 'off',
    selectors: [EntitySelectors.model('products'), EntitySelectors.model('tags')],
    mappings: {
      products: {
        events: ProductEvents,
        keys: (p: Product) => ({ id: p._id }),
        toEto: (p: Product) => ({ id: p._id, name: p.name, price: p.price }),
      },
    },
    versioning: true,
    ...options,
  });
  const summary = async () =>
    (await mongoOutboxEvents(log)).map((e) => `${e.name} ${e.payload.keysAsString} v${e.payload.version}`);
  return { bus, log, events, summary, products: db.collection<Product>('products') };
}

describe("mongoEntityEvents on FerretDB (transactions: 'off')", () => {
  it('publishes exactly the selected events with versions; returns what the driver would', async () => {
    const { events, summary, products, log } = catalog();
    const suppliers = db.collection<{ _id: string; name: string }>('suppliers');

    const doc: Product = { _id: 'p1', name: 'Pen', price: 2 };
    expect(await events.insertOne(products, doc)).toMatchObject({ acknowledged: true, insertedId: 'p1' });
    expect(await events.updateOne(products, { _id: 'p1' }, { $set: { price: 3 } })).toMatchObject({
      matchedCount: 1,
      modifiedCount: 1,
      upsertedCount: 0,
      upsertedId: null,
    });
    expect(
      await events.updateOne(products, { _id: 'p2' }, { $set: { name: 'Ink', price: 5 } }, { upsert: true }),
    ).toMatchObject({ matchedCount: 0, upsertedCount: 1, upsertedId: 'p2' });
    expect(await events.updateOne(products, { _id: 'nope' }, { $set: { price: 1 } })).toMatchObject({
      matchedCount: 0,
      upsertedCount: 0,
    });
    // findOneAndUpdate returns the document before the change by default, like the driver.
    expect(await events.findOneAndUpdate(products, { _id: 'p1' }, { $set: { price: 4 } })).toEqual({
      _id: 'p1',
      name: 'Pen',
      price: 3,
      version: 2,
    });
    expect(
      await events.findOneAndUpdate(
        products,
        { _id: 'p2' },
        { $set: { price: 6 } },
        { returnDocument: 'after', projection: { price: 1 } },
      ),
    ).toEqual({ _id: 'p2', price: 6 });
    await events.insertOne(suppliers, { _id: 's1', name: 'Acme' }); // not selected
    expect(await events.deleteOne(products, { _id: 'p1' })).toEqual({ acknowledged: true, deletedCount: 1 });
    expect(await events.deleteOne(products, { _id: 'p1' })).toEqual({ acknowledged: true, deletedCount: 0 });

    expect(await summary()).toEqual([
      'catalog.product.created p1 v1',
      'catalog.product.updated p1 v2',
      'catalog.product.created p2 v1',
      'catalog.product.updated p1 v3',
      'catalog.product.updated p2 v2',
      'catalog.product.deleted p1 v4',
    ]);
    const stored = await mongoOutboxEvents(log);
    expect(stored[3]).toMatchObject({
      orderingKey: 'products:p1',
      payload: { entityType: 'products', keys: { id: 'p1' }, entity: { id: 'p1', name: 'Pen', price: 4 } },
    });
    expect(await products.find().toArray()).toEqual([{ _id: 'p2', name: 'Ink', price: 6, version: 2 }]);
    expect(await suppliers.countDocuments()).toBe(1);
  });

  it('unmapped collections get EntityEto events keyed by _id (ObjectIds as hex)', async () => {
    const { events, log } = catalog();
    const tags = db.collection<{ _id?: ObjectId; label: string }>('tags');
    const doc = { label: 'red' };
    const { insertedId } = await events.insertOne(tags, doc);
    expect(insertedId).toBeInstanceOf(ObjectId);
    expect((doc as { _id?: ObjectId })._id).toEqual(insertedId); // like the driver, even though a version was added
    const [event] = await mongoOutboxEvents(log);
    expect(event).toMatchObject({
      name: 'tags.created',
      orderingKey: `tags:${insertedId.toHexString()}`,
      payload: { keys: { _id: insertedId.toHexString() }, version: 1, entity: { entityType: 'tags' } },
    });
  });

  it("'required' refuses writes without a transaction before writing (FerretDB has none)", async () => {
    const { events, summary, products } = catalog({ transactions: 'required' });
    await expect(events.insertOne(products, { _id: 'p1', name: 'Pen', price: 2 })).rejects.toBeInstanceOf(
      EntityEventsTransactionError,
    );
    const session = client.startSession();
    try {
      await expect(
        events.updateOne(products, { _id: 'p1' }, { $set: { price: 1 } }, { session, upsert: true }),
      ).rejects.toThrow(/session.withTransaction/);
    } finally {
      await session.endSession();
    }
    // Collections that are not selected need no transaction.
    await events.insertOne(db.collection('suppliers'), { _id: 's1' } as never);
    expect(await products.countDocuments()).toBe(0);
    expect(await summary()).toEqual([]);
  });

  it('refuses a pipeline update it cannot version, before writing', async () => {
    const { events, products, summary } = catalog();
    await events.insertOne(products, { _id: 'p1', name: 'Pen', price: 2 });
    await expect(events.updateOne(products, { _id: 'p1' }, [{ $set: { price: 9 } }])).rejects.toBeInstanceOf(
      EntityEventsUnsupportedError,
    );
    expect(await products.findOne({ _id: 'p1' })).toMatchObject({ price: 2, version: 1 });
    expect(await summary()).toEqual(['catalog.product.created p1 v1']);
  });
});

describe('mongoEntityStore on FerretDB', () => {
  const change = (version: number | undefined, price: number) => ({
    entityType: 'products',
    keys: { id: 'p1' },
    keysAsString: 'p1',
    ...(version !== undefined ? { version } : {}),
    entity: { id: 'p1', name: 'Pen', price },
  });

  it('ignores older and equal versions (duplicate-key path), keeps tombstones, applies unversioned changes', async () => {
    const copies = db.collection('order_products');
    const store = mongoEntityStore<ProductEto>(copies);
    const sync = new EntitySynchronizer<ProductEto, ProductEto>({ events: ProductEvents, store });
    expect(await sync.apply('updated', change(3, 30), undefined)).toBe('applied');
    // Straight to the store, past the synchronizer's own check: the server decides.
    await store.put('p1', { id: 'p1', name: 'Pen', price: 10 }, 1, undefined);
    await store.put('p1', { id: 'p1', name: 'Pen', price: 31 }, 3, undefined);
    expect(await store.get('p1', undefined)).toMatchObject({
      entity: { price: 30 },
      version: 3,
      deleted: false,
    });
    expect(await sync.apply('deleted', change(4, 0), undefined)).toBe('applied');
    await store.put('p1', { id: 'p1', name: 'Pen', price: 20 }, 2, undefined);
    expect(await store.get('p1', undefined)).toMatchObject({ entity: undefined, version: 4, deleted: true });
    expect(await store.keys(undefined)).toEqual([]);
    expect(await sync.apply('created', change(5, 50), undefined)).toBe('applied');
    expect(await store.keys(undefined)).toEqual(['p1']);
    await store.put('p1', { id: 'p1', name: 'Pen', price: 1 }, undefined, undefined);
    expect(await store.get('p1', undefined)).toMatchObject({ entity: { price: 1 }, version: undefined });
    expect(await copies.find().toArray()).toEqual([
      {
        _id: 'p1',
        entity: { id: 'p1', name: 'Pen', price: 1 },
        deleted: false,
        version: null,
        appliedAt: expect.any(Number),
      },
    ]);
  });

  it('keeps a copy in step through the MongoDB outbox, the bus and the inbox, and backfills', async () => {
    const broker = new InProcessBroker();
    const source = catalog({}, broker);
    const { builder, log } = mongoBus('ordering', client, dbName, broker);
    logs.push(log);
    const store = mongoEntityStore<ProductEto>(db.collection('order_products'));
    const synchronizer = new EntitySynchronizer<ProductEto, ProductEto>({ events: ProductEvents, store });
    synchronizer.register(builder);
    const ordering = buses.track(builder.build());
    await ordering.start();
    await source.bus.start();

    await source.events.insertOne(source.products, { _id: 'p1', name: 'Pen', price: 2 });
    await source.events.insertOne(source.products, { _id: 'p2', name: 'Ink', price: 5 });
    await source.events.updateOne(source.products, { _id: 'p1' }, { $set: { price: 3 } });
    await source.events.deleteOne(source.products, { _id: 'p2' });
    await source.bus.drain();
    await ordering.drain();

    expect(await store.keys(undefined)).toEqual(['p1']);
    expect((await store.get('p1', undefined))?.entity).toEqual({ id: 'p1', name: 'Pen', price: 3 });
    expect(await store.get('p2', undefined)).toMatchObject({ deleted: true, version: 2 });

    // A product written behind Herald's back is found by a backfill from the collection.
    await source.products.insertOne({ _id: 'p3', name: 'Cap', price: 1, version: 1 });
    const snapshots = {
      page: async ({ after, limit }: { after?: string; limit: number }) => {
        const rows = await source.products
          .find(after ? { _id: { $gt: after } } : {})
          .sort({ _id: 1 })
          .limit(limit)
          .toArray();
        const items = rows.map((p) => ({
          keysAsString: p._id,
          version: p.version,
          entity: { id: p._id, name: p.name, price: p.price },
        }));
        return rows.length === limit ? { items, next: rows.at(-1)!._id } : { items };
      },
    };
    expect(await synchronizer.backfill(snapshots, { pageSize: 2 })).toEqual({ applied: 1, removed: 0 });
    expect(await synchronizer.checkDrift(snapshots)).toMatchObject({ missing: [], extra: [], stale: [] });
  });
});
