import { createIntegrationEventBus, InProcessTransport, silentLogger } from '@herald/core';
import { type MongoEventLog, mongoEventLog } from '@herald/outbox-mongo';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitySelectors } from '../src/index.js';
import { mongoEntityEvents } from '../src/mongodb/index.js';
import { decodeRecords } from './helpers/common.js';
import { clearDatabase, uniqueDbName } from './helpers/mongo.js';
import { assertMongoConvergence } from './helpers/mongo-property.js';

/*
 * `MONGODB_URL="mongodb://127.0.0.1:27017/?replicaSet=rs0" pnpm test:live` (a single-node replica
 * set is enough: `mongod --replSet rs0`, then `rs.initiate()`). What FerretDB 1.24 cannot run:
 * writes and their events committing or aborting together, and concurrent delivery decided by
 * MongoDB's atomic conditional updates.
 */

const LIVE_URL = process.env.MONGODB_URL;
const dbName = uniqueDbName('live');
let client: MongoClient;
const logs: MongoEventLog[] = [];

beforeAll(async () => {
  if (!LIVE_URL) {
    throw new Error(
      'test:live needs MONGODB_URL pointing at a MongoDB replica set, e.g. ' +
        'MONGODB_URL="mongodb://127.0.0.1:27017/?replicaSet=rs0" pnpm test:live',
    );
  }
  client = new MongoClient(LIVE_URL, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
});
afterAll(async () => {
  await Promise.allSettled(logs.splice(0).map((log) => log.close()));
  await client
    ?.db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
});

describe("mongoEntityEvents with transactions: 'required' on a replica set", () => {
  it('commits a write and its events together, and aborts both together', async () => {
    await clearDatabase(client.db(dbName));
    const log = mongoEventLog(client, { db: dbName, transactions: 'required' });
    logs.push(log);
    await log.init();
    const bus = createIntegrationEventBus({ service: 'catalog', logger: silentLogger })
      .useTransport(new InProcessTransport())
      .useEventLog(log)
      .build();
    const events = mongoEntityEvents({
      bus,
      selectors: [EntitySelectors.model('products')],
      versioning: true,
    });
    const products = client.db(dbName).collection<{ _id: string; price: number }>('products');
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await events.insertOne(products, { _id: 'p1', price: 1 }, { session });
        await events.updateOne(products, { _id: 'p1' }, { $set: { price: 2 } }, { session });
      });
      await expect(
        session.withTransaction(async () => {
          await events.deleteOne(products, { _id: 'p1' }, { session });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
    } finally {
      await session.endSession();
    }
    const stored = decodeRecords(await log.outbox.list({ limit: 100 }));
    expect(stored.map((e) => `${e.name} v${e.payload.version}`)).toEqual([
      'products.created v1',
      'products.updated v2',
    ]);
    expect(await products.find().toArray()).toEqual([{ _id: 'p1', price: 2, version: 2 }]);
  });
});

describe('mongoEntityStore on a replica set (property-based)', () => {
  it('converges under shuffled, duplicated, out-of-order and concurrent delivery', async () => {
    await assertMongoConvergence(client.db(dbName).collection('order_products'), {
      maxLanes: 3,
      numRuns: 30,
    });
  }, 120_000);
});
