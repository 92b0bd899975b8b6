import { AggregateRoot, InProcessTransport } from '@herald/core';
import { createUnitOfWorkManager } from '@herald/uow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Prisma } from './generated/postgresql/client/client.js';
import {
  Buses,
  builder,
  ENGINE_NAMES,
  type EngineHandle,
  eventually,
  InProcessBroker,
  OrderPlaced,
  openEngine,
  settled,
  unique,
} from './helpers.js';

/** A domain event the ordering service raises; a converter turns it into the integration event. */
class OrderNoted {
  constructor(
    readonly orderId: string,
    readonly n: number,
  ) {}
}

class TestOrderAggregate extends AggregateRoot {
  constructor(
    readonly id: string,
    public note: string,
  ) {
    super();
  }
  place(n: number): void {
    this.addDistributedEvent(new OrderPlaced({ orderId: this.id, n }));
  }
  noteDown(n: number): void {
    this.addDomainEvent(new OrderNoted(this.id, n));
  }
}

// Events an aggregate records are written to the outbox in the unit of work's transaction on a real
// database (ABP's AddDistributedEvent, NetCorePal's converters): no publish call in the save path.
describe.each(['postgresql', 'sqlite'] as const)('aggregate events on %s', (provider) => {
  let db: EngineHandle;
  const buses = new Buses();

  beforeAll(async () => {
    db = await openEngine(provider);
  });
  afterAll(() => db?.close());
  beforeEach(() => db.reset());
  afterEach(() => buses.stopAll());

  it(`${ENGINE_NAMES[provider]}: commit publishes each recorded event once; rollback publishes none`, async () => {
    const broker = new InProcessBroker();
    const manager = createUnitOfWorkManager<Prisma.TransactionClient>({
      transaction: (work) => db.prisma.$transaction(work),
    });
    const log = db.log();
    const sender = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog({ outbox: log.outbox })
      .useUnitOfWork(manager)
      .convert(OrderNoted, (e) => new OrderPlaced({ orderId: e.orderId, n: e.n }))
      .build();
    const handled: string[] = [];
    const billing = builder('billing', new InProcessTransport({ broker }))
      .useEventLog({ inbox: db.log({}, db.peer()).inbox })
      .handle(OrderPlaced, async (event) => void handled.push(`${event.orderId}#${event.n}`), {
        name: `bill-${unique()}`,
      })
      .build();
    await buses.start(billing, sender);

    /** The repository: it saves the row and knows nothing about events. */
    const save = (tx: Prisma.TransactionClient, order: TestOrderAggregate) =>
      tx.testOrder.upsert({
        where: { id: order.id },
        create: { id: order.id, note: order.note },
        update: { note: order.note },
      });

    const kept = new TestOrderAggregate('o-kept', 'first');
    await manager.run(async ({ tx }) => {
      kept.place(1);
      await save(tx, kept);
      kept.note = 'second';
      kept.noteDown(2);
      await save(tx, kept); // saved twice: each event once
    });
    const lost = new TestOrderAggregate('o-rolled-back', 'never');
    await expect(
      manager.run(async ({ tx }) => {
        lost.place(3);
        await save(tx, lost);
        throw new Error('business rule violated');
      }),
    ).rejects.toThrow('business rule violated');

    await eventually(() => handled.length === 2);
    await settled(broker, [log.outbox]);
    // Each once; no order between them (the events have no ordering key, so the consumer may run them side by side).
    expect([...handled].sort()).toEqual(['o-kept#1', 'o-kept#2']);
    expect((await db.prisma.testOrder.findMany()).map((o) => `${o.id}:${o.note}`)).toEqual(['o-kept:second']);
    expect((await log.outbox.list({ limit: 100 })).map((r) => r.status)).toEqual(['published', 'published']);
    expect(lost.pendingEvents).toHaveLength(1); // still there for a retry of the command
  });
});
