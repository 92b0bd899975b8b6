import { AggregateRoot, defineEvent } from '@herald/core';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntityEventsTransactionError, EntitySelectors } from '../src/index.js';
import { mongoEntityEvents } from '../src/mongodb/index.js';
import { clearDatabase, connectMongo, mongoBus, mongoOutboxEvents, uniqueDbName } from './helpers/mongo.js';

const OrderPlaced = defineEvent<{ orderId: string }>('ordering.order-placed');

class Order extends AggregateRoot {
  constructor(
    readonly _id: string,
    readonly total: number,
  ) {
    super();
    this.addDistributedEvent(new OrderPlaced({ orderId: _id }));
  }
}

const dbName = uniqueDbName('aggregates');
let client: MongoClient;
beforeAll(async () => {
  client = await connectMongo();
});
afterAll(async () => {
  await client
    ?.db(dbName)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
});

// mongoEntityEvents.insertOne publishes the recorded events of an aggregate it inserts, on FerretDB
// (no transactions: `transactions: 'off'`, events right after the write).
describe('aggregates inserted through mongoEntityEvents on FerretDB', () => {
  it('publishes the aggregate’s events with the insert; the document carries only its fields', async () => {
    await clearDatabase(client.db(dbName));
    const { builder, log } = mongoBus('ordering', client, dbName);
    const bus = builder.build();
    try {
      const helpers = mongoEntityEvents({
        bus,
        transactions: 'off',
        selectors: [EntitySelectors.model('products')],
      });
      const orders = client.db(dbName).collection<{ _id: string; total: number }>('orders');
      const order = new Order('o-1', 12);
      await helpers.insertOne(orders, order);
      expect((await mongoOutboxEvents(log)).map((e) => e.name)).toEqual(['ordering.order-placed']);
      expect(order.pendingEvents).toEqual([]);
      expect(await orders.findOne({ _id: 'o-1' })).toEqual({ _id: 'o-1', total: 12 });
    } finally {
      await bus.stop();
      await log.close();
    }
  });

  it("with transactions: 'required', refuses an aggregate without a session before writing", async () => {
    await clearDatabase(client.db(dbName));
    const { builder, log } = mongoBus('ordering', client, dbName);
    const bus = builder.build();
    try {
      const helpers = mongoEntityEvents({ bus, selectors: [EntitySelectors.model('products')] });
      const orders = client.db(dbName).collection<{ _id: string; total: number }>('orders');
      const order = new Order('o-2', 5);
      await expect(helpers.insertOne(orders, order)).rejects.toThrow(EntityEventsTransactionError);
      expect(await orders.countDocuments()).toBe(0);
      expect(order.pendingEvents).toHaveLength(1);
    } finally {
      await bus.stop();
      await log.close();
    }
  });
});
