import { AggregateRoot, defineEvent } from '@herald/core';
import { createUnitOfWorkManager } from '@herald/uow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntitySelectors, entityEvents } from '../src/index.js';
import { heraldEntityEvents } from '../src/prisma/index.js';
import { openPostgres, outboxEvents, type Postgres, prismaBus, writtenTogether } from './helpers/postgres.js';

const ProductEvents = entityEvents<{ id: string; name: string; price: number }>('catalog.product');
const PriceSet = defineEvent<{ productId: string; price: number }>('catalog.price-set');
const SupplierOnboarded = defineEvent<{ supplierId: string }>('catalog.supplier-onboarded');

/** An aggregate whose own fields are the row's columns: it can be passed as `data`. */
class Product extends AggregateRoot {
  constructor(
    readonly id: string,
    public name: string,
    public price: number,
  ) {
    super();
  }
  setPrice(price: number): void {
    this.price = price;
    this.addDistributedEvent(new PriceSet({ productId: this.id, price }));
  }
}

class Supplier extends AggregateRoot {
  constructor(
    readonly id: string,
    readonly name: string,
  ) {
    super();
    this.addDistributedEvent(new SupplierOnboarded({ supplierId: id }));
  }
}

let db: Postgres;
beforeAll(async () => {
  db = await openPostgres();
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await db.reset();
});

function catalog() {
  const { builder, log } = prismaBus('catalog', db.prisma);
  const uow = createUnitOfWorkManager<any>({ transaction: (work) => prisma.$transaction(work) });
  const bus = builder.useUnitOfWork(uow).build(); // not started: the events stay in the outbox
  const extension = heraldEntityEvents({
    bus,
    unitOfWork: uow,
    selectors: [EntitySelectors.model('Product')],
    mappings: {
      Product: {
        events: ProductEvents,
        keys: (p: Product) => ({ id: p.id }),
        toEto: (p: Product) => ({ id: p.id, name: p.name, price: p.price }),
      },
    },
  });
  const prisma = db.prisma.$extends(extension);
  const names = async () => (await outboxEvents(log)).map((e) => e.name);
  return { bus, uow, prisma, extension, names };
}

// Aggregates saved through heraldEntityEvents on PostgreSQL: their recorded events are written to the
// outbox in the write's transaction — through the unit of work, or through withEntityEvents(tx).
describe('aggregates saved through heraldEntityEvents on PostgreSQL', () => {
  it('inside a unit of work: published at completion with the entity events, each once however often saved', async () => {
    const { prisma, uow, names } = catalog();
    const pen = new Product('p1', 'Pen', 1);
    await uow.run(async () => {
      pen.setPrice(5);
      await prisma.product.create({ data: { id: pen.id, name: pen.name, price: pen.price } });
      pen.setPrice(6);
      await prisma.product.update({ where: { id: 'p1' }, data: { price: pen.price } });
    });
    expect(await names()).toEqual([
      'catalog.product.created',
      'catalog.product.updated',
      'catalog.price-set',
      'catalog.price-set',
    ]);
    expect(await writtenTogether(db.prisma, 'products', 'p1')).toBe(true);
    expect(pen.pendingEvents).toEqual([]);
    await expect(
      uow.run(async () => {
        pen.setPrice(7);
        await prisma.product.update({ where: { id: 'p1' }, data: { price: pen.price } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await names()).toHaveLength(4);
  });

  it('withEntityEvents(tx): an aggregate passed as data publishes its events in your transaction, gone with its rollback', async () => {
    const { extension, names } = catalog();
    const lost = new Product('p2', 'Pen', 1);
    lost.setPrice(3);
    await expect(
      db.prisma.$transaction(async (tx) => {
        await extension.withEntityEvents(tx).product.create({ data: lost });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await names()).toEqual([]);
    // Like ABP, a save takes the events: an aggregate whose transaction rolled back is reloaded, not reused.
    expect(lost.pendingEvents).toEqual([]);
    const pen = new Product('p2', 'Pen', 1);
    pen.setPrice(3);
    await db.prisma.$transaction(async (tx) => {
      const etx = extension.withEntityEvents(tx);
      await etx.product.create({ data: pen });
      await etx.product.update({ where: { id: 'p2' }, data: pen }); // saved twice: nothing left to publish
      await etx.supplier.create({ data: new Supplier('s1', 'Acme') }); // a model without entity events
    });
    expect(await names()).toEqual([
      'catalog.product.created',
      'catalog.price-set',
      'catalog.product.updated',
      'catalog.supplier-onboarded',
    ]);
    expect(await writtenTogether(db.prisma, 'suppliers', 's1')).toBe(true);
    expect(pen.pendingEvents).toEqual([]);
  });

  it('outside both, the extended client cannot see the aggregate (Prisma clones the args): its events stay on it', async () => {
    const { prisma, names, bus } = catalog();
    const pen = new Product('p3', 'Pen', 1);
    pen.setPrice(2);
    await prisma.product.create({ data: { id: pen.id, name: pen.name, price: pen.price } });
    expect(await names()).toEqual(['catalog.product.created']);
    expect(pen.pendingEvents).toHaveLength(1); // not dropped: publish them with the next save
    await db.prisma.$transaction((tx) => bus.publishRecordedEvents(pen, { tx }));
    expect(await names()).toEqual(['catalog.product.created', 'catalog.price-set']);
  });
});
