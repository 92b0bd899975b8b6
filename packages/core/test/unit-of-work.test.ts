import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  defineEvent,
  InProcessBroker,
  type IntegrationEventBus,
  MemoryDatabase,
  type MemoryTransaction,
  type UnitOfWorkAccessor,
  type UnitOfWorkScope,
} from '../src/index.js';
import { eventually, testBuilder } from './helpers.js';

/** The smallest unit of work core needs (the real one is @herald/uow). */
function miniUnitOfWork(db: MemoryDatabase) {
  const storage = new AsyncLocalStorage<UnitOfWorkScope>();
  const accessor: UnitOfWorkAccessor = { current: () => storage.getStore() };
  async function run(work: (tx: MemoryTransaction) => Promise<void>): Promise<void> {
    const after: Array<() => void> = [];
    await db.transaction(async (tx) => {
      const before: Array<() => Promise<void>> = [];
      const scope: UnitOfWorkScope = {
        tx,
        beforeComplete: (fn) => void before.push(fn),
        afterCommit: (fn) => void after.push(fn),
      };
      await storage.run(scope, async () => {
        await work(tx);
        while (before.length > 0) await before.shift()!();
      });
    });
    for (const fn of after) fn();
  }
  return { accessor, run };
}

const OrderPlaced = defineEvent<{ orderId: string }>('order-placed');
const InvoiceIssued = defineEvent<{ orderId: string }>('invoice-issued');

const running: IntegrationEventBus[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

describe('publishing inside a unit of work', () => {
  it('defers useOutbox: false until completion, and sends nothing on rollback', async () => {
    const broker = new InProcessBroker();
    const db = new MemoryDatabase();
    const uow = miniUnitOfWork(db);
    const got: string[] = [];
    const consumer = testBuilder('consumer', broker)
      .handle(OrderPlaced, async (e) => void got.push(e.orderId))
      .build();
    const direct = testBuilder('direct', broker).useUnitOfWork(uow.accessor).build();
    running.push(consumer, direct);
    await consumer.start();
    await direct.start();
    await expect(
      uow.run(async () => {
        await direct.publish(new OrderPlaced({ orderId: 'rolled-back' }), { useOutbox: false });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await uow.run(async () => {
      await direct.publish(new OrderPlaced({ orderId: 'sent' }), { useOutbox: false });
    });
    await consumer.drain();
    expect(got).toEqual(['sent']);
  });

  it('monolith mode: handlers run in the unit of work, follow-ups via ctx.publish too, and other buses still receive the event', async () => {
    const broker = new InProcessBroker();
    const db = new MemoryDatabase();
    const uow = miniUnitOfWork(db);
    const seen: string[] = [];
    const monolith = testBuilder('shop', broker)
      .useUnitOfWork(uow.accessor)
      .handle(OrderPlaced, async (event, ctx) => {
        (ctx.tx as MemoryTransaction).put('invoices', event.orderId, { issued: true });
        await ctx.publish(new InvoiceIssued({ orderId: event.orderId }));
      })
      .handle(InvoiceIssued, async (event, ctx) => {
        (ctx.tx as MemoryTransaction).put('mails', event.orderId, { sent: true });
        seen.push(`shop:${event.orderId}`);
      })
      .build();
    const other = testBuilder('analytics', broker)
      .handle(OrderPlaced, async (event) => void seen.push(`analytics:${event.orderId}`))
      .build();
    running.push(monolith, other);
    await other.start();
    await monolith.start();
    await uow.run(async (tx) => {
      tx.put('orders', 'o1', { total: 1 });
      await monolith.publish(new OrderPlaced({ orderId: 'o1' }));
    });
    expect(db.get('mails', 'o1')).toEqual({ sent: true });
    await eventually(() => seen.includes('analytics:o1'));
    await monolith.drain();
    await other.drain();
    expect(seen.sort()).toEqual(['analytics:o1', 'shop:o1']);
  });

  it('monolith mode: a failing handler rolls the unit of work back', async () => {
    const broker = new InProcessBroker();
    const db = new MemoryDatabase();
    const uow = miniUnitOfWork(db);
    const bus = testBuilder('shop', broker)
      .useUnitOfWork(uow.accessor)
      .handle(OrderPlaced, async () => {
        throw new Error('out of stock');
      })
      .build();
    running.push(bus);
    await bus.start();
    await expect(
      uow.run(async (tx) => {
        tx.put('orders', 'o1', { total: 1 });
        await bus.publish(new OrderPlaced({ orderId: 'o1' }));
      }),
    ).rejects.toThrow('out of stock');
    expect(db.get('orders', 'o1')).toBeUndefined();
  });
});
