import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveryTimeOf } from '../src/delivery-time.js';
import {
  ConfigurationError,
  defineEvent,
  InProcessBroker,
  type IntegrationEventBus,
  MemoryDatabase,
  type MemoryTransaction,
  memoryEventLog,
  type UnitOfWorkAccessor,
  type UnitOfWorkScope,
} from '../src/index.js';
import { eventually, testBuilder } from './helpers.js';

const OrderPlaced = defineEvent<{ orderId: string }>('delayed.order-placed');

const running: IntegrationEventBus[] = [];
async function started(...buses: IntegrationEventBus[]): Promise<void> {
  running.push(...buses);
  for (const bus of buses) await bus.start();
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

/** A sender with a memory outbox the test can look into, and a receiver that notes when it handled what. */
async function pair(configure: { pollingInterval?: number } = {}) {
  const broker = new InProcessBroker();
  const log = memoryEventLog();
  const sender = testBuilder('ordering', broker)
    .configure(configure)
    .useEventLog({ outbox: log.outbox })
    .build();
  const handled: Array<{ orderId: string; at: number }> = [];
  const receiver = testBuilder('billing', broker)
    .handle(OrderPlaced, async (event) => void handled.push({ orderId: event.orderId, at: Date.now() }))
    .build();
  await started(receiver, sender);
  return { sender, outbox: log.outbox, handled };
}

describe('deliveryTimeOf', () => {
  it('is undefined without deliverAt or delay, now + delay with delay, and deliverAt itself (also in the past)', () => {
    expect(deliveryTimeOf({})).toBeUndefined();
    expect(deliveryTimeOf({ delay: 250 }, 1_000)?.getTime()).toBe(1_250);
    expect(deliveryTimeOf({ delay: 0 }, 1_000)?.getTime()).toBe(1_000);
    const past = new Date(Date.now() - 60_000);
    expect(deliveryTimeOf({ deliverAt: past })?.getTime()).toBe(past.getTime());
  });

  it.each([
    ['both deliverAt and delay', { deliverAt: new Date(), delay: 10 }, /not both/],
    ['a negative delay', { delay: -1 }, /delay must be/],
    ['a NaN delay', { delay: Number.NaN }, /delay must be/],
    ['an infinite delay', { delay: Number.POSITIVE_INFINITY }, /delay must be/],
    ['a delay given as a string', { delay: '300' as unknown as number }, /delay must be/],
    ['an invalid Date', { deliverAt: new Date('not a date') }, /deliverAt must be a valid Date/],
    ['a deliverAt that is not a Date', { deliverAt: '2030-01-01' as unknown as Date }, /deliverAt must be/],
  ])('refuses %s with a ConfigurationError', (_label, options, message) => {
    expect(() => deliveryTimeOf(options)).toThrow(ConfigurationError);
    expect(() => deliveryTimeOf(options)).toThrow(message);
  });
});

describe('bus.publish with deliverAt or delay', () => {
  it('stores the record pending until due, then the relay sends it: handled after the delay, not before', async () => {
    const { sender, outbox, handled } = await pair();
    const before = Date.now();
    await sender.publish(new OrderPlaced({ orderId: 'o-1' }), { delay: 200 });
    const [stored] = await outbox.list({});
    expect(stored?.status).toBe('pending');
    expect(stored?.nextAttemptAt?.getTime()).toBeGreaterThanOrEqual(before + 200);
    await eventually(() => handled.length === 1);
    expect(handled[0]!.at - before).toBeGreaterThanOrEqual(200);
  });

  it('wakes the relay when the record is due, not at the next poll', async () => {
    const { sender, handled } = await pair({ pollingInterval: 60_000 });
    const before = Date.now();
    await sender.publish(new OrderPlaced({ orderId: 'o-timer' }), { deliverAt: new Date(before + 150) });
    await eventually(() => handled.length === 1, 3_000);
    expect(handled[0]!.at - before).toBeGreaterThanOrEqual(150);
  });

  it('several delayed records of one bus are each sent when due, not at the next poll', async () => {
    const { sender, handled } = await pair({ pollingInterval: 60_000 });
    const before = Date.now();
    await sender.publish(new OrderPlaced({ orderId: 'o-late' }), { delay: 250 });
    await sender.publish(new OrderPlaced({ orderId: 'o-early' }), { delay: 100 });
    await eventually(() => handled.length === 2, 3_000);
    expect(handled.map((entry) => entry.orderId)).toEqual(['o-early', 'o-late']);
    expect(handled[0]!.at - before).toBeGreaterThanOrEqual(100);
    expect(handled[1]!.at - before).toBeGreaterThanOrEqual(250);
  });

  it('a deliverAt in the past is sent at once', async () => {
    const { sender, handled } = await pair({ pollingInterval: 60_000 });
    await sender.publish(new OrderPlaced({ orderId: 'o-past' }), {
      deliverAt: new Date(Date.now() - 60_000),
    });
    await eventually(() => handled.length === 1, 3_000);
  });

  it('a delayed event holds back later events of its ordering key; other keys flow', async () => {
    const { sender, handled } = await pair();
    await sender.publish(new OrderPlaced({ orderId: 'k-first' }), { orderingKey: 'k', delay: 200 });
    await sender.publish(new OrderPlaced({ orderId: 'k-second' }), { orderingKey: 'k' });
    await sender.publish(new OrderPlaced({ orderId: 'other' }), { orderingKey: 'other' });
    await eventually(() => handled.length === 3);
    expect(handled.map((entry) => entry.orderId)).toEqual(['other', 'k-first', 'k-second']);
  });

  it('refuses deliverAt/delay with useOutbox: false, sending nothing', async () => {
    const { sender, handled } = await pair();
    const sent: unknown[] = [];
    sender.on('sent', (event) => void sent.push(event));
    await expect(
      sender.publish(new OrderPlaced({ orderId: 'o-direct' }), { useOutbox: false, delay: 10 }),
    ).rejects.toThrow(ConfigurationError);
    await expect(
      sender.publish(new OrderPlaced({ orderId: 'o-both' }), { delay: 10, deliverAt: new Date() }),
    ).rejects.toThrow(ConfigurationError);
    await sender.drain();
    expect(sent).toEqual([]);
    expect(handled).toEqual([]);
  });

  it('monolith mode: in a unit of work nothing runs inline; after the commit the bus handles the event itself when due', async () => {
    const broker = new InProcessBroker();
    const db = new MemoryDatabase();
    const storage = new AsyncLocalStorage<UnitOfWorkScope>();
    const accessor: UnitOfWorkAccessor = { current: () => storage.getStore() };
    const handled: Array<{ orderId: string; at: number }> = [];
    const monolith = testBuilder('shop', broker)
      .useUnitOfWork(accessor)
      .handle(OrderPlaced, async (event) => void handled.push({ orderId: event.orderId, at: Date.now() }))
      .build();
    await started(monolith);

    const before = Date.now();
    const completing: Array<() => Promise<void>> = [];
    const committed: Array<() => void> = [];
    await db.transaction(async (tx: MemoryTransaction) => {
      const scope: UnitOfWorkScope = {
        tx,
        beforeComplete: (fn) => void completing.push(fn),
        afterCommit: (fn) => void committed.push(fn),
      };
      await storage.run(scope, async () => {
        await monolith.publish(new OrderPlaced({ orderId: 'o-later' }), { delay: 150 });
        for (const fn of completing) await fn();
      });
    });
    expect(handled, 'nothing ran inside the unit of work').toEqual([]);
    for (const fn of committed) fn();
    await eventually(() => handled.length === 1);
    expect(handled[0]!.orderId).toBe('o-later');
    expect(handled[0]!.at - before).toBeGreaterThanOrEqual(150);
    await monolith.drain();
    expect(handled).toHaveLength(1);
  });
});
