import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { connectMongo, uniqueDbName } from './helpers/mongo.js';
import { assertMongoConvergence } from './helpers/mongo-property.js';

const dbName = uniqueDbName('property');
let client: MongoClient;
let db: Db;
beforeAll(async () => {
  client = await connectMongo();
  db = client.db(dbName);
});
afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
});

describe('EntitySynchronizer on FerretDB through mongoEntityStore (property-based)', () => {
  // One consumer at a time: FerretDB 1.x does not evaluate a conditional updateOne atomically with
  // the write (concurrent `{ version: { $lt: v } }` updates can both apply; see the README), so the
  // concurrent variant runs against a real MongoDB in test/live.test.ts.
  it('converges to the source under shuffled, duplicated and out-of-order delivery', async () => {
    await assertMongoConvergence(db.collection('order_products'), { maxLanes: 1, numRuns: 100 });
  }, 120_000);
});
