import { afterEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  defineEvent,
  InProcessBroker,
  type IntegrationEventBus,
  memoryEventLog,
  uuidv7,
} from '../src/index.js';
import { HELD_REASON } from '../src/receive/held-delivery.js';
import { eventually, testBuilder } from './helpers.js';

// ABP's inbox switches on the in-memory store: processing off stores without running, an inbox
// event selector, and an inbox retention apart from the outbox's.
const OrderPlaced = defineEvent<{ orderId: string }>('ordering.order-placed');
const StockReserved = defineEvent<{ orderId: string }>('stock.reserved');

const running: IntegrationEventBus[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});
async function start(...buses: IntegrationEventBus[]): Promise<void> {
  for (const bus of buses) {
    running.push(bus);
    await bus.start();
  }
}

describe('processing: false', () => {
  it('stores deliveries without running handlers; a bus with processing on runs them once, in order', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const handled: string[] = [];
    const receiver = (processing: boolean) =>
      testBuilder('billing', broker)
        .useEventLog({ inbox: log.inbox }, { processing })
        .handle(OrderPlaced, async (event) => void handled.push(event.orderId), { name: 'bill' })
        .build();
    const sender = testBuilder('ordering', broker).build();
    const held = receiver(false);
    await start(held, sender);

    const firstId = uuidv7();
    await sender.publish(new OrderPlaced({ orderId: 'a' }), { id: firstId, orderingKey: 'k' });
    await sender.publish(new OrderPlaced({ orderId: 'b' }), { orderingKey: 'k' });
    await sender.publish(new OrderPlaced({ orderId: 'a' }), { id: firstId, orderingKey: 'k' }); // redelivery
    await sender.drain();
    await held.drain();
    const stored = await log.inbox.list({ limit: 10 });
    expect(stored.map((entry) => [entry.status, entry.attempts, entry.lastError])).toEqual([
      ['failed', 0, HELD_REASON],
      ['failed', 0, HELD_REASON],
    ]);
    expect(handled).toEqual([]);

    await held.stop();
    const processing = receiver(true);
    await start(processing);
    await eventually(() => handled.length === 2);
    await processing.drain();
    expect(handled).toEqual(['a', 'b']);
    expect((await log.inbox.list({ limit: 10 })).map((entry) => entry.status)).toEqual([
      'processed',
      'processed',
    ]);
  });
});

describe('inbox event selector', () => {
  it('puts a handler in the inbox whose event selector accepts all its events', async () => {
    const broker = new InProcessBroker();
    const orders = memoryEventLog();
    const stock = memoryEventLog();
    const handled: string[] = [];
    const receiver = testBuilder('billing', broker)
      .useEventLog(
        { inbox: orders.inbox },
        { name: 'orders', inboxEventSelector: (e) => e.name.startsWith('ordering.') },
      )
      .useEventLog(
        { inbox: stock.inbox },
        { name: 'stock', inboxEventSelector: (e) => e.name.startsWith('stock.') },
      )
      .handle(OrderPlaced, async (e) => void handled.push(`order:${e.orderId}`), { name: 'bill' })
      .handle(StockReserved, async (e) => void handled.push(`stock:${e.orderId}`), { name: 'reserve' })
      .build();
    const sender = testBuilder('ordering', broker).build();
    await start(receiver, sender);
    await sender.publish([new OrderPlaced({ orderId: '1' }), new StockReserved({ orderId: '1' })]);
    await eventually(() => handled.length === 2);
    expect((await orders.inbox.list({ limit: 10 })).map((e) => e.handler)).toEqual(['bill']);
    expect((await stock.inbox.list({ limit: 10 })).map((e) => e.handler)).toEqual(['reserve']);
  });

  it('refuses at build a handler that no inbox accepts', () => {
    expect(() =>
      testBuilder('billing')
        .useEventLog(memoryEventLog(), { inboxEventSelector: (e) => e.name.startsWith('stock.') })
        .handle(OrderPlaced, async () => undefined, { name: 'bill' })
        .build(),
    ).toThrow(ConfigurationError);
  });
});

describe('inbox retention', () => {
  it('deletes processed inbox entries after processedInboxExpireTime, published outbox records after publishedExpireTime', async () => {
    const log = memoryEventLog();
    const handled: string[] = [];
    const bus = testBuilder('billing')
      .useEventLog(log)
      .configure({ publishedExpireTime: 6 * 3600_000, processedInboxExpireTime: 2 * 3600_000 })
      .handle(OrderPlaced, async (e) => void handled.push(e.orderId), { name: 'bill' })
      .build();
    await start(bus);
    await bus.publish(new OrderPlaced({ orderId: '1' }));
    await eventually(() => handled.length === 1);
    await bus.drain();
    const hours = (h: number) => new Date(Date.now() + h * 3600_000);
    expect(await bus.cleanupNow(hours(1))).toBe(0);
    expect(await bus.cleanupNow(hours(3))).toBe(1); // the inbox entry only
    expect(await log.inbox.list({ limit: 10 })).toEqual([]);
    expect((await log.outbox.list({ limit: 10 })).map((r) => r.status)).toEqual(['published']);
    expect(await bus.cleanupNow(hours(7))).toBe(1); // now the outbox record
  });
});
