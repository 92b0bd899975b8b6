import { describeLocalEntityStoreConformance } from '@herald/testkit';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { mongoEntityStore } from '../src/mongodb/index.js';
import { clearDatabase, connectMongo, uniqueDbName } from './helpers/mongo.js';

/*
 * The testkit's LocalEntityStore suite on mongoEntityStore over FerretDB. FerretDB has no
 * multi-document transactions, so writes run without a session (the store's `tx` is a
 * ClientSession or nothing) and the rollback case reports itself skipped with that reason.
 */
const dbName = uniqueDbName('local_store_conformance');
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

describeLocalEntityStoreConformance<{ id: string; name: string; price: number }>({
  name: 'mongoEntityStore on FerretDB (no transactions)',
  create: async () => {
    await clearDatabase(db);
    return {
      store: mongoEntityStore(db.collection('order_products')),
      transaction: (work) => work(undefined),
      entity: (id, revision) => ({ id, name: `revision ${revision}`, price: revision }),
      noRollback: 'FerretDB has no multi-document transactions, so nothing can roll back',
    };
  },
});
