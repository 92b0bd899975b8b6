import { defineEvent, InProcessTransport, uuidv7 } from '@herald/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Buses,
  builder,
  type EngineHandle,
  eventually,
  InProcessBroker,
  OrderPlaced,
  openEngine,
  unique,
} from './helpers.js';

const StockReserved = defineEvent<{ orderId: string }>('test.stock-reserved');

// ABP's inbox switches with the inbox in PostgreSQL: processing off stores without running,
// an inbox event selector, and an inbox retention apart from the outbox's.
describe('inbox switches on PostgreSQL', () => {
  let db: EngineHandle;
  const buses = new Buses();

  beforeAll(async () => {
    db = await openEngine('postgresql');
  });
  afterAll(() => db?.close());
  beforeEach(() => db.reset());
  afterEach(() => buses.stopAll());

  it('processing: false stores deliveries without running them; processing on runs each once, in order', async () => {
    const broker = new InProcessBroker();
    const log = db.log();
    const handled: string[] = [];
    const name = `bill-${unique()}`;
    const receiver = (processing: boolean) =>
      builder('billing', new InProcessTransport({ broker }))
        .useEventLog({ inbox: log.inbox }, { processing })
        .handle(OrderPlaced, async (event) => void handled.push(`${event.orderId}`), { name })
        .build();
    const sender = builder('ordering', new InProcessTransport({ broker })).build();
    const held = receiver(false);
    await buses.start(held, sender);

    const id = uuidv7();
    await sender.publish(new OrderPlaced({ orderId: 'a', n: 1 }), { id, orderingKey: 'k' });
    await sender.publish(new OrderPlaced({ orderId: 'b', n: 2 }), { orderingKey: 'k' });
    await sender.publish(new OrderPlaced({ orderId: 'a', n: 1 }), { id, orderingKey: 'k' }); // redelivery
    await sender.drain();
    await held.drain();
    const stored = await log.inbox.list({ limit: 10 });
    expect(stored.map((entry) => [entry.status, entry.attempts])).toEqual([
      ['failed', 0],
      ['failed', 0],
    ]);
    expect(stored[0]?.lastError).toMatch(/processing: false/);
    expect(handled).toEqual([]);

    await held.stop();
    const processing = receiver(true);
    await buses.start(processing);
    await eventually(() => handled.length === 2);
    await processing.drain();
    expect(handled).toEqual(['a', 'b']);
    expect((await log.inbox.list({ limit: 10 })).map((entry) => entry.status)).toEqual([
      'processed',
      'processed',
    ]);
  });

  it('processed inbox entries expire on their own clock (handlers placed by inbox event selectors)', async () => {
    const broker = new InProcessBroker();
    const orders = db.log();
    const stock = db.log({}, db.peer());
    const handled: string[] = [];
    const receiver = builder('billing', new InProcessTransport({ broker }))
      .useEventLog(
        { inbox: orders.inbox },
        { name: 'orders', inboxEventSelector: (e) => e.name === 'test.order-placed' },
      )
      .useEventLog(
        { inbox: stock.inbox },
        { name: 'stock', inboxEventSelector: (e) => e.name === 'test.stock-reserved' },
      )
      .configure({ publishedExpireTime: 6 * 3600_000, processedInboxExpireTime: 2 * 3600_000 })
      .handle(OrderPlaced, async (e) => void handled.push(`order:${e.orderId}`), { name: `bill-${unique()}` })
      .handle(StockReserved, async (e) => void handled.push(`stock:${e.orderId}`), {
        name: `reserve-${unique()}`,
      })
      .build();
    const sender = builder('ordering', new InProcessTransport({ broker })).build();
    await buses.start(receiver, sender);
    await sender.publish([new OrderPlaced({ orderId: '1', n: 1 }), new StockReserved({ orderId: '1' })]);
    await eventually(() => handled.length === 2);
    await receiver.drain();
    // Both logs share one database (one inbox table), so either store lists both entries.
    const entries = await orders.inbox.list({ limit: 10 });
    expect(entries.map((e) => e.eventName).sort()).toEqual(['test.order-placed', 'test.stock-reserved']);

    const hours = (h: number) => new Date(Date.now() + h * 3600_000);
    expect(await receiver.cleanupNow(hours(1))).toBe(0);
    expect(await receiver.cleanupNow(hours(3))).toBeGreaterThanOrEqual(2);
    expect(await orders.inbox.list({ limit: 10 })).toEqual([]);
  });
});
