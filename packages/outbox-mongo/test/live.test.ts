import {
  createIntegrationEventBus,
  defineEvent,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  silentLogger,
} from '@herald/core';
import {
  describeInboxStoreConformance,
  describeOutboxStoreConformance,
  outboxEntry,
  testWireMessage,
  uniqueEventName,
} from '@herald/testkit';
import { createUnitOfWorkManager } from '@herald/uow';
import type { ClientSession, MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MongoEventLog, mongoEventLog } from '../src/index.js';
import { clearDatabase, connect, uniqueDbName, waitFor } from './helpers.js';

/*
 * `pnpm test:live` with MONGODB_URL naming a MongoDB replica set (a single node is enough:
 * `mongod --replSet rs0` + `rs.initiate()`, URL `mongodb://127.0.0.1:27017/?replicaSet=rs0`).
 * Everything FerretDB 1.24 cannot run: the full conformance suites with transactions, rollback
 * of business writes and events together, the inbox's effectively-once handling, and change streams.
 */

const LIVE_URL = process.env.MONGODB_URL;
const db = uniqueDbName('live');
let client: MongoClient;
const logs: MongoEventLog[] = [];

beforeAll(async () => {
  if (!LIVE_URL) {
    throw new Error(
      'test:live needs MONGODB_URL pointing at a MongoDB replica set, e.g. ' +
        'MONGODB_URL="mongodb://127.0.0.1:27017/?replicaSet=rs0" pnpm test:live',
    );
  }
  client = await connect(LIVE_URL, 'mongod --replSet rs0, then rs.initiate() in mongosh');
});

afterAll(async () => {
  await Promise.all(logs.splice(0).map((log) => log.close()));
  await client
    ?.db(db)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
});

function eventLog(options: Partial<Parameters<typeof mongoEventLog>[1]> = {}): MongoEventLog {
  const log = mongoEventLog(client, { db, transactions: 'required', ...options });
  logs.push(log);
  return log;
}

async function freshEventLog(): Promise<MongoEventLog> {
  await clearDatabase(client.db(db));
  const log = mongoEventLog(client, { db, transactions: 'required', changeStreams: 'off' });
  await log.init();
  return log;
}

describe('the server', () => {
  it('is a replica set with transactions (init() passes)', async () => {
    const server = await eventLog().init();
    expect(server.transactions).toBe(true);
    expect(server.setName ?? (server.mongos ? 'mongos' : undefined)).toBeDefined();
  });
});

describeOutboxStoreConformance({
  name: 'mongodb replica set, transactions required',
  create: async () => {
    const log = await freshEventLog();
    return { store: log.outbox, transaction: (work) => log.transaction(work), cleanup: () => log.close() };
  },
});

describeInboxStoreConformance({
  name: 'mongodb replica set, transactions required',
  create: async () => {
    const log = await freshEventLog();
    return { store: log.inbox, cleanup: () => log.close() };
  },
});

describe('business writes and events commit together', () => {
  const running: IntegrationEventBus[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((bus) => bus.stop()));
  });

  function bus(service: string, broker: InProcessBroker, log: MongoEventLog) {
    return createIntegrationEventBus({ service, logger: silentLogger })
      .useTransport(new InProcessTransport({ broker }))
      .useEventLog(log)
      .configure({ pollingInterval: 200, minimumRetryInterval: 10_000, localFailedRetryInterval: 10 });
  }

  it('a rolled-back transaction leaves neither the order nor its event; a committed one has both', async () => {
    await clearDatabase(client.db(db));
    const OrderPlaced = defineEvent<{ orderId: string }>(uniqueEventName('order-placed'));
    const log = eventLog({ changeStreams: 'off' });
    const ordering = bus('ordering', new InProcessBroker(), log).build();
    running.push(ordering);
    await ordering.start();
    const orders = client.db(db).collection<{ _id: string }>('orders');
    const session = client.startSession();
    try {
      await expect(
        session.withTransaction(async () => {
          await orders.insertOne({ _id: 'o-rolled-back' }, { session });
          await ordering.publish(new OrderPlaced({ orderId: 'o-rolled-back' }), { tx: session });
          throw new Error('payment declined');
        }),
      ).rejects.toThrow('payment declined');
      expect(await orders.countDocuments({ _id: 'o-rolled-back' })).toBe(0);
      expect(await log.outbox.list({ eventName: OrderPlaced.eventName })).toEqual([]);

      await session.withTransaction(async () => {
        await orders.insertOne({ _id: 'o-committed' }, { session });
        await ordering.publish(new OrderPlaced({ orderId: 'o-committed' }), { tx: session });
      });
    } finally {
      await session.endSession();
    }
    expect(await orders.countDocuments({ _id: 'o-committed' })).toBe(1);
    await waitFor(
      async () => (await log.outbox.list({ eventName: OrderPlaced.eventName }))[0]?.status === 'published',
      'the committed event to be relayed',
    );
  });

  it('the ambient unit of work (@herald/uow) with eventLog.transaction as its runner', async () => {
    await clearDatabase(client.db(db));
    const Shipped = defineEvent<{ orderId: string }>(uniqueEventName('shipped'));
    const log = eventLog({ changeStreams: 'off' });
    const uow = createUnitOfWorkManager<ClientSession | undefined>({ transaction: log.transaction });
    const shipping = bus('shipping', new InProcessBroker(), log).useUnitOfWork(uow).build();
    running.push(shipping);
    await shipping.start();
    const shipments = client.db(db).collection<{ _id: string }>('shipments');
    await expect(
      uow.run(async ({ tx }) => {
        await shipments.insertOne({ _id: 's-1' }, { session: tx! });
        await shipping.publish(new Shipped({ orderId: 's-1' }));
        throw new Error('carrier unavailable');
      }),
    ).rejects.toThrow('carrier unavailable');
    expect(await shipments.countDocuments()).toBe(0);
    expect(await log.outbox.list({ eventName: Shipped.eventName })).toEqual([]);
    await uow.run(async ({ tx }) => {
      await shipments.insertOne({ _id: 's-2' }, { session: tx! });
      await shipping.publish(new Shipped({ orderId: 's-2' }));
    });
    expect(await shipments.countDocuments()).toBe(1);
    expect(await log.outbox.list({ eventName: Shipped.eventName })).toHaveLength(1);
  });

  it("a handler's writes through ctx.tx commit with its inbox entry: a failed attempt leaves nothing", async () => {
    await clearDatabase(client.db(db));
    const Paid = defineEvent<{ invoice: string }>(uniqueEventName('paid'));
    const broker = new InProcessBroker();
    const ledger = client.db(db).collection<{ invoice: string }>('ledger');
    let attempts = 0;
    const billing = bus('billing', broker, eventLog({ changeStreams: 'off' }))
      .handle(Paid, async (event, ctx) => {
        attempts++;
        await ledger.insertOne({ invoice: event.invoice }, { session: ctx.tx as ClientSession });
        if (attempts === 1) throw new Error('first attempt fails after its write');
      })
      .build();
    const producer = bus(
      'payments',
      broker,
      eventLog({ changeStreams: 'off', collections: { outbox: 'p_outbox', inbox: 'p_inbox' } }),
    ).build();
    running.push(billing, producer);
    await billing.start();
    await producer.start();
    await producer.publish(new Paid({ invoice: 'inv-1' }));
    await waitFor(async () => attempts >= 2 && (await ledger.countDocuments()) === 1, 'the second attempt');
    expect(await ledger.countDocuments({ invoice: 'inv-1' })).toBe(1);
  });
});

describe('change streams', () => {
  it("'auto' watches the outbox and wakes on a record inserted by another event log", async () => {
    const watching = eventLog({ changeStreams: 'auto' });
    await watching.init();
    let wakes = 0;
    const unsubscribe = watching.outbox.onWake(() => wakes++);
    expect(await watching.outbox.wakeSettled()).toBe('change-stream');
    const other = eventLog({ changeStreams: 'off' });
    await other.outbox.add([outboxEntry(testWireMessage())]);
    await waitFor(() => wakes > 0, 'a change-stream wake-up');
    unsubscribe();
    await waitFor(() => watching.outbox.wakeState === 'idle', 'the change stream to close');
  });
});
