import {
  AggregateRoot,
  MemoryDatabase,
  type MemoryTransaction,
  memoryEventLog,
  recordDistributedEvent,
  recordedEvents,
} from '@herald/core';
import { describe, expect, it } from 'vitest';
import { createUnitOfWorkManager } from '../src/index.js';
import { started, testBuilder } from './helpers.js';

class OrderPlaced {
  static readonly eventName = 'ordering.order-placed';
  constructor(readonly orderId: string) {}
}
class OrderShipped {
  static readonly eventName = 'ordering.order-shipped';
  constructor(readonly orderId: string) {}
}
/** A domain event: never published itself, only through a converter. */
class OrderPaidDomainEvent {
  constructor(readonly orderId: string) {}
}
class PaymentReceived {
  static readonly eventName = 'billing.payment-received';
  constructor(readonly orderId: string) {}
}

class Order extends AggregateRoot {
  constructor(readonly id: string) {
    super();
  }
  place(): void {
    this.addDistributedEvent(new OrderPlaced(this.id));
  }
  pay(): void {
    this.addDomainEvent(new OrderPaidDomainEvent(this.id));
  }
  ship(): void {
    this.addDistributedEvent(new OrderShipped(this.id));
  }
}

function setup() {
  const db = new MemoryDatabase();
  const log = memoryEventLog({ database: db });
  const uow = createUnitOfWorkManager<MemoryTransaction>({ transaction: (work) => db.transaction(work) });
  const bus = testBuilder('ordering')
    .useEventLog(log)
    .useUnitOfWork(uow)
    .convert(OrderPaidDomainEvent, (e) => new PaymentReceived(e.orderId))
    .build();
  const saved = new Map<string, Order>();
  const save = (tx: MemoryTransaction, order: Order) => {
    tx.put('orders', order.id, { id: order.id });
    saved.set(order.id, order);
  };
  const stored = async () => (await log.outbox.list({ limit: 100 })).map((r) => r.message.name);
  return { db, log, uow, bus, save, stored };
}

describe('aggregates that record events, published by the unit of work', () => {
  it('publishes recorded and converted events when the unit of work completes, in order', async () => {
    const { uow, bus, save, stored } = setup();
    await started(bus);
    const order = new Order('o-1');
    await uow.run(async ({ tx }) => {
      order.place();
      order.pay();
      save(tx, order);
      expect(await stored()).toEqual([]); // nothing before completion
    });
    expect(await stored()).toEqual(['ordering.order-placed', 'billing.payment-received']);
    expect(order.pendingEvents).toEqual([]);
  });

  it('a rolled-back unit of work publishes nothing and leaves the events on the aggregate', async () => {
    const { db, uow, bus, save, stored } = setup();
    await started(bus);
    const order = new Order('o-2');
    await expect(
      uow.run(async ({ tx }) => {
        order.place();
        save(tx, order);
        throw new Error('business rule violated');
      }),
    ).rejects.toThrow('business rule violated');
    expect(await stored()).toEqual([]);
    expect(await db.transaction(async (tx) => tx.get('orders', 'o-2'))).toBeUndefined();
    expect(order.pendingEvents.map((r) => r.event)).toEqual([new OrderPlaced('o-2')]);
  });

  it('a unit of work that fails after its events were taken gives them back to the aggregate', async () => {
    const { uow, bus, save, stored } = setup();
    await started(bus);
    const order = new Order('o-6');
    await expect(
      uow.run(async (unit) => {
        order.place(); // tracked now: its flush runs first at completion
        save(unit.tx, order);
        unit.beforeComplete(() => {
          expect(order.pendingEvents).toEqual([]); // taken by the flush
          throw new Error('late failure');
        });
      }),
    ).rejects.toThrow('late failure');
    expect(await stored()).toEqual([]);
    expect(order.pendingEvents.map((r) => r.event)).toEqual([new OrderPlaced('o-6')]);
    await uow.run(async ({ tx }) => save(tx, order)); // no new recording: nothing tracks it…
    expect(await stored()).toEqual([]);
    await uow.run(async ({ tx }) => {
      save(tx, order);
      await bus.publishRecordedEvents(order); // …until it is published explicitly (joins the unit of work)
    });
    expect(await stored()).toEqual(['ordering.order-placed']);
  });

  it('an aggregate saved twice in one unit of work publishes each event once', async () => {
    const { uow, bus, save, stored } = setup();
    await started(bus);
    const order = new Order('o-3');
    await uow.run(async ({ tx }) => {
      order.place();
      save(tx, order);
      order.ship();
      save(tx, order);
    });
    expect(await stored()).toEqual(['ordering.order-placed', 'ordering.order-shipped']);
    // A later unit of work publishes only what was recorded since.
    await uow.run(async ({ tx }) => save(tx, order));
    expect(await stored()).toEqual(['ordering.order-placed', 'ordering.order-shipped']);
  });

  it('works on plain objects through the free functions', async () => {
    const { uow, bus, stored } = setup();
    await started(bus);
    const customer = { id: 'c-1', name: 'Ada' };
    await uow.run(async () => {
      recordDistributedEvent(customer, new OrderPlaced('from-plain-object'));
    });
    expect(await stored()).toEqual(['ordering.order-placed']);
    expect(Object.keys(customer)).toEqual(['id', 'name']); // the recording is invisible to ORMs
    expect(JSON.stringify(customer)).toBe('{"id":"c-1","name":"Ada"}');
    expect(recordedEvents(customer)).toEqual([]);
  });

  it('outside a unit of work, publishRecordedEvents takes them with the caller’s tx, once', async () => {
    const { db, bus, stored } = setup();
    await started(bus);
    const order = new Order('o-4');
    order.place(); // no unit of work: stays on the aggregate
    expect(await stored()).toEqual([]);
    await db.transaction(async (tx) => {
      await bus.publishRecordedEvents(order, { tx });
      await bus.publishRecordedEvents(order, { tx });
    });
    expect(await stored()).toEqual(['ordering.order-placed']);
  });

  it('a stopped bus no longer collects: the events stay on the aggregate', async () => {
    const { uow, bus, stored } = setup();
    await started(bus);
    await bus.stop();
    const order = new Order('o-5');
    await uow.run(async () => order.place());
    expect(await stored()).toEqual([]);
    expect(order.pendingEvents).toHaveLength(1);
  });
});
