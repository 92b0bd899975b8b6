import {
  type BusEventMap,
  createIntegrationEventBus,
  InProcessBroker,
  type IntegrationEventBus,
  MemoryDatabase,
  type MemoryTransaction,
  memoryEventLog,
  silentLogger,
} from '@herald/core';
import { describe, expect, it } from 'vitest';
import { createUnitOfWorkManager, type UnitOfWork } from '../src/index.js';
import {
  fastOptions,
  signal,
  sleep,
  spyingOutbox,
  started,
  testBuilder,
  within,
  withoutWakeUps,
} from './helpers.js';

class OrderPlaced {
  static readonly eventName = 'ordering.order-placed';
  constructor(
    readonly orderId: string,
    readonly total: number,
  ) {}
}

class InvoiceIssued {
  static readonly eventName = 'billing.invoice-issued';
  constructor(readonly orderId: string) {}
}

interface Order {
  total: number;
}

function record<K extends keyof BusEventMap>(bus: IntegrationEventBus, name: K): BusEventMap[K][] {
  const seen: BusEventMap[K][] = [];
  bus.on(name, (event) => seen.push(event));
  return seen;
}

/** A unit-of-work manager whose transactions are those of `db`. */
function memoryUnitOfWork(db: MemoryDatabase) {
  return createUnitOfWorkManager<MemoryTransaction>({
    transaction: (work) => db.transaction(work),
    logger: silentLogger,
  });
}

/** In-process monolith: default transport, default (embedded) event log. */
function monolithBuilder(service: string) {
  return createIntegrationEventBus({ service, logger: silentLogger }).configure(fastOptions);
}

describe('in-process monolith mode: handlers run inside the unit of work (LocalDistributedEventBus)', () => {
  it('rolls the business write back when a handler throws, and rejects with its error', async () => {
    const db = new MemoryDatabase('shop');
    const uow = memoryUnitOfWork(db);
    const handlerError = new Error('credit limit exceeded');
    const log: string[] = [];
    const bus = monolithBuilder('shop-a')
      .useUnitOfWork(uow)
      .handle(OrderPlaced, async () => {
        log.push('handler');
        throw handlerError;
      })
      .build();
    await started(bus);

    const failure = uow.run(async ({ tx }) => {
      tx.put('orders', 'o-1', { total: 10 });
      await bus.publish(new OrderPlaced('o-1', 10));
      log.push('work done'); // the handler has not run yet: it runs when the unit of work completes
    });
    await expect(failure).rejects.toBe(handlerError);
    expect(log).toEqual(['work done', 'handler']);
    expect(db.get('orders', 'o-1')).toBeUndefined();
  });

  it('commits the business write and the handler writes together, handling the event once', async () => {
    const db = new MemoryDatabase('shop');
    const uow = memoryUnitOfWork(db);
    let handled = 0;
    const bus = monolithBuilder('shop-b')
      .useUnitOfWork(uow)
      .handle(OrderPlaced, async (event, ctx) => {
        handled++;
        const tx = ctx.tx as MemoryTransaction;
        expect(tx).toBe(uow.current()?.tx);
        expect(tx.get<Order>('orders', event.orderId)).toEqual({ total: 10 }); // sees the uncommitted order
        tx.put('invoices', event.orderId, { amount: event.total });
      })
      .build();
    const received = record(bus, 'received');
    await started(bus);

    await uow.run(async ({ tx }) => {
      tx.put('orders', 'o-1', { total: 10 });
      await bus.publish(new OrderPlaced('o-1', 10));
    });
    expect(db.get('orders', 'o-1')).toEqual({ total: 10 });
    expect(db.get('invoices', 'o-1')).toEqual({ amount: 10 });
    await bus.drain(); // nothing was stored for a second, relayed delivery
    expect(handled).toBe(1);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ source: 'direct', eventName: 'ordering.order-placed' });
  });

  it('dispatches a follow-up published by a handler before the commit, and rolls back if it fails', async () => {
    const db = new MemoryDatabase('shop');
    const uow = memoryUnitOfWork(db);
    let invoiceHandlerFails = false;
    const log: string[] = [];
    const bus: IntegrationEventBus = monolithBuilder('shop-c')
      .useUnitOfWork(uow)
      .handle(OrderPlaced, async (event, ctx) => {
        (ctx.tx as MemoryTransaction).put('invoices', event.orderId, { issued: true });
        await bus.publish(new InvoiceIssued(event.orderId)); // ambient: joins the unit of work
        log.push('order handler');
      })
      .handle(InvoiceIssued, async (event, ctx) => {
        log.push(`invoice handler (${uow.current()?.state})`);
        if (invoiceHandlerFails) throw new Error('mail server down');
        (ctx.tx as MemoryTransaction).put('mails', event.orderId, { sent: true });
      })
      .build();
    await started(bus);

    await uow.run(async ({ tx }) => {
      tx.put('orders', 'o-1', { total: 1 });
      await bus.publish(new OrderPlaced('o-1', 1));
    });
    expect(log).toEqual(['order handler', 'invoice handler (completing)']);
    expect(db.get('mails', 'o-1')).toEqual({ sent: true });

    invoiceHandlerFails = true;
    await expect(
      uow.run(async ({ tx }) => {
        tx.put('orders', 'o-2', { total: 2 });
        await bus.publish(new OrderPlaced('o-2', 2));
      }),
    ).rejects.toThrow('mail server down');
    expect(db.get('orders', 'o-2')).toBeUndefined();
    expect(db.get('invoices', 'o-2')).toBeUndefined();
  });

  it('runs handlers at once with onUnitOfWorkComplete: false, still inside the transaction', async () => {
    const db = new MemoryDatabase('shop');
    const uow = memoryUnitOfWork(db);
    const log: string[] = [];
    const bus = monolithBuilder('shop-d')
      .useUnitOfWork(uow)
      .handle(OrderPlaced, async (event, ctx) => {
        log.push('handler');
        (ctx.tx as MemoryTransaction).put('invoices', event.orderId, { issued: true });
      })
      .build();
    await started(bus);

    const failure = uow.run(async ({ tx }) => {
      tx.put('orders', 'o-1', { total: 1 });
      await bus.publish(new OrderPlaced('o-1', 1), { onUnitOfWorkComplete: false });
      log.push('after publish');
      expect(tx.get('invoices', 'o-1')).toEqual({ issued: true });
      throw new Error('later failure');
    });
    await expect(failure).rejects.toThrow('later failure');
    expect(log).toEqual(['handler', 'after publish']);
    expect(db.get('invoices', 'o-1')).toBeUndefined();
    expect(db.get('orders', 'o-1')).toBeUndefined();
  });

  it('runs handlers at completion in a unit of work without a transaction (tx undefined)', async () => {
    const uow = createUnitOfWorkManager({ logger: silentLogger });
    const log: string[] = [];
    const bus: IntegrationEventBus = monolithBuilder('shop-e')
      .useUnitOfWork(uow)
      .handle(OrderPlaced, async (event, ctx) => {
        log.push(`order handler (tx: ${typeof ctx.tx})`);
        await ctx.publish(new InvoiceIssued(event.orderId));
      })
      .handle(InvoiceIssued, async () => {
        log.push(`invoice handler (${uow.current()?.state})`);
      })
      .build();
    await started(bus);

    await uow.run(async () => {
      await bus.publish(new OrderPlaced('o-1', 1));
      log.push('work done');
    });
    expect(log).toEqual(['work done', 'order handler (tx: undefined)', 'invoice handler (completing)']);
  });
});

describe('outbox mode (explicit event log): records commit with the unit of work', () => {
  it('writes the outbox record at completion, in the transaction, committing with the business row', async () => {
    const db = new MemoryDatabase('orders-db');
    const log = memoryEventLog({ database: db });
    const spy = spyingOutbox(log.outbox);
    const uow = memoryUnitOfWork(db);
    const bus = testBuilder('ordering-1')
      .useEventLog({ outbox: spy.outbox, inbox: log.inbox })
      .useUnitOfWork(uow)
      .build();
    // Not started: no relay, so the committed record stays visible.

    /** A repository reading the ambient transaction. */
    const saveOrder = (id: string, order: Order) => uow.requireCurrent().tx.put('orders', id, order);

    let seen!: UnitOfWork<MemoryTransaction>;
    await uow.run(async (current) => {
      seen = current;
      saveOrder('o-1', { total: 5 });
      await bus.publish(new OrderPlaced('o-1', 5));
      expect(spy.adds).toHaveLength(0); // deferred to completion
    });
    expect(spy.adds).toHaveLength(1);
    expect(spy.adds[0]!.tx).toBe(seen.tx);
    expect(db.get('orders', 'o-1')).toEqual({ total: 5 });
    const records = await log.outbox.list({});
    expect(records.map((r) => [r.message.name, r.status])).toEqual([['ordering.order-placed', 'pending']]);
  });

  it('leaves neither the row nor the record when the work fails after publishing', async () => {
    const db = new MemoryDatabase('orders-db');
    const log = memoryEventLog({ database: db });
    const spy = spyingOutbox(log.outbox);
    const uow = memoryUnitOfWork(db);
    const bus = testBuilder('ordering-2')
      .useEventLog({ outbox: spy.outbox, inbox: log.inbox })
      .useUnitOfWork(uow)
      .build();

    await expect(
      uow.run(async ({ tx }) => {
        tx.put('orders', 'o-1', { total: 5 });
        await bus.publish(new OrderPlaced('o-1', 5));
        throw new Error('validation failed');
      }),
    ).rejects.toThrow('validation failed');
    expect(spy.adds).toHaveLength(0);

    // A failure after the record was written (a later beforeComplete) rolls it back too.
    await expect(
      uow.run(async (current) => {
        current.tx.put('orders', 'o-2', { total: 6 });
        await bus.publish(new OrderPlaced('o-2', 6));
        current.beforeComplete(async () => {
          throw new Error('late failure');
        });
      }),
    ).rejects.toThrow('late failure');
    expect(spy.adds).toHaveLength(1);
    expect(db.get('orders', 'o-1')).toBeUndefined();
    expect(db.get('orders', 'o-2')).toBeUndefined();
    expect(await log.outbox.list({})).toEqual([]);
  });

  it('relays the committed event to a handler of another service on the same broker', async () => {
    const broker = new InProcessBroker();
    const db = new MemoryDatabase('orders-db');
    const uow = memoryUnitOfWork(db);
    const ordering = testBuilder('ordering-3', broker)
      .useEventLog(memoryEventLog({ database: db }))
      .useUnitOfWork(uow)
      .build();
    const handled: string[] = [];
    const billing = testBuilder('billing-3', broker)
      .handle(OrderPlaced, async (event) => {
        handled.push(event.orderId);
      })
      .build();
    await started(billing, ordering);

    await uow.run(async ({ tx }) => {
      tx.put('orders', 'o-1', { total: 5 });
      await ordering.publish(new OrderPlaced('o-1', 5));
    });
    await expect(
      uow.run(async ({ tx }) => {
        tx.put('orders', 'o-2', { total: 6 });
        await ordering.publish(new OrderPlaced('o-2', 6));
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await ordering.drain();
    await billing.drain();
    expect(handled).toEqual(['o-1']);
  });

  it('wakes the relay after the commit (afterCommit), not at the next poll', async () => {
    const broker = new InProcessBroker();
    const db = new MemoryDatabase('orders-db');
    const log = memoryEventLog({ database: db });
    // A slow commit: the relay's short post-publish re-checks are over before the record is visible.
    const uow = createUnitOfWorkManager<MemoryTransaction>({
      transaction: (work) =>
        db.transaction(async (tx) => {
          const result = await work(tx);
          await sleep(400);
          return result;
        }),
      logger: silentLogger,
    });
    const ordering = testBuilder('ordering-4', broker)
      .useEventLog({ outbox: withoutWakeUps(log.outbox), inbox: log.inbox })
      .useUnitOfWork(uow)
      .configure({ pollingInterval: 60_000 }) // polling would be far too late
      .build();
    const delivered = signal<string>();
    const billing = testBuilder('billing-4', broker)
      .handle(OrderPlaced, async (event) => delivered.resolve(event.orderId))
      .build();
    await started(billing, ordering);
    await sleep(20); // the relay has found the outbox empty and is waiting

    await uow.run(async ({ tx }) => {
      tx.put('orders', 'o-1', { total: 5 });
      await ordering.publish(new OrderPlaced('o-1', 5));
    });
    await expect(within(delivered.promise, 3_000, 'the relay was not woken after the commit')).resolves.toBe(
      'o-1',
    );
  });

  it('stores at once with onUnitOfWorkComplete: false, still in the transaction', async () => {
    const db = new MemoryDatabase('orders-db');
    const log = memoryEventLog({ database: db });
    const spy = spyingOutbox(log.outbox);
    const uow = memoryUnitOfWork(db);
    const bus = testBuilder('ordering-5')
      .useEventLog({ outbox: spy.outbox, inbox: log.inbox })
      .useUnitOfWork(uow)
      .build();

    await expect(
      uow.run(async ({ tx }) => {
        await bus.publish(new OrderPlaced('o-1', 5), { onUnitOfWorkComplete: false });
        expect(spy.adds).toHaveLength(1); // written now …
        expect(spy.adds[0]!.tx).toBe(tx); // … through the unit of work's transaction
        expect(await log.outbox.list({})).toEqual([]); // not visible before the commit
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await log.outbox.list({})).toEqual([]);

    await uow.run(async () => {
      await bus.publish(new OrderPlaced('o-2', 6), { onUnitOfWorkComplete: false });
    });
    expect((await log.outbox.list({})).map((r) => r.status)).toEqual(['pending']);
  });

  it('bypasses the outbox for one publish with useOutbox: false', async () => {
    const broker = new InProcessBroker();
    const db = new MemoryDatabase('orders-db');
    const log = memoryEventLog({ database: db });
    const uow = memoryUnitOfWork(db);
    const ordering = testBuilder('ordering-6', broker).useEventLog(log).useUnitOfWork(uow).build();
    const sent = record(ordering, 'sent');
    const handled: string[] = [];
    const billing = testBuilder('billing-6', broker)
      .handle(OrderPlaced, async (event) => {
        handled.push(event.orderId);
      })
      .build();
    await started(billing, ordering);

    await uow.run(async ({ tx }) => {
      tx.put('orders', 'o-1', { total: 5 });
      await ordering.publish(new OrderPlaced('o-1', 5), { useOutbox: false });
    });
    await ordering.drain();
    await billing.drain();
    expect(handled).toEqual(['o-1']);
    expect(sent.map((event) => event.source)).toEqual(['direct']);
    expect(await log.outbox.list({})).toEqual([]);
  });

  it('stores at completion without a transaction when the unit of work has none', async () => {
    const broker = new InProcessBroker();
    const log = memoryEventLog();
    const spy = spyingOutbox(log.outbox);
    const uow = createUnitOfWorkManager({ logger: silentLogger });
    const ordering = testBuilder('ordering-7', broker)
      .useEventLog({ outbox: spy.outbox, inbox: log.inbox })
      .useUnitOfWork(uow)
      .build();
    const handled: string[] = [];
    const billing = testBuilder('billing-7', broker)
      .handle(OrderPlaced, async (event) => {
        handled.push(event.orderId);
      })
      .build();
    await started(billing, ordering);

    await uow.run(async () => {
      await ordering.publish(new OrderPlaced('o-1', 5));
      expect(spy.adds).toHaveLength(0);
    });
    expect(spy.adds).toHaveLength(1);
    expect(spy.adds[0]!.tx).toBeUndefined();
    await ordering.drain();
    await billing.drain();
    expect(handled).toEqual(['o-1']);
  });
});
