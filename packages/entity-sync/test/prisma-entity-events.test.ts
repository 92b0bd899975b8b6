import { ConfigurationError } from '@herald/core';
import { createUnitOfWorkManager } from '@herald/uow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntitySelectors, entityEvents } from '../src/index.js';
import {
  EntityEventsTransactionError,
  EntityEventsUnsupportedError,
  heraldEntityEvents,
  type PrismaEntityEventsOptions,
} from '../src/prisma/index.js';
import { openPostgres, outboxEvents, type Postgres, prismaBus, writtenTogether } from './helpers/postgres.js';

interface Product {
  id: string;
  name: string;
  price: number;
  version: number;
}
interface ProductEto {
  id: string;
  name: string;
  price: number;
}
const ProductEvents = entityEvents<ProductEto>('catalog.product');
const TagEvents = entityEvents('catalog.product-tag');

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

/** The catalog service: its Prisma client extended with entity events, a unit of work, an outbox. */
function catalog(options: Partial<PrismaEntityEventsOptions> = {}, uowOnPlainClient = false) {
  const { builder, log } = prismaBus('catalog', db.prisma);
  // Not started: the events stay in the outbox, where the tests read them.
  const bus = builder.build();
  const uow = createUnitOfWorkManager<any>({
    transaction: (work) => (uowOnPlainClient ? db.prisma.$transaction(work) : prisma.$transaction(work)),
  });
  const extension = heraldEntityEvents({
    bus,
    unitOfWork: uow,
    selectors: [EntitySelectors.model('Product'), EntitySelectors.model('ProductTag')],
    mappings: {
      Product: {
        events: ProductEvents,
        keys: (p: Product) => ({ id: p.id }),
        toEto: (p: Product) => {
          if (p.name === 'boom') throw new Error('cannot map boom');
          return { id: p.id, name: p.name, price: p.price };
        },
      },
      ProductTag: {
        events: TagEvents,
        keys: (t: { productId: string; tag: string }) => ({ productId: t.productId, tag: t.tag }),
      },
    },
    versioning: true,
    ...options,
  });
  const prisma = db.prisma.$extends(extension);
  const events = () => outboxEvents(log);
  const summary = async () =>
    (await events()).map((e) => `${e.name} ${e.payload.keysAsString} v${e.payload.version}`);
  return { bus, log, prisma, uow, extension, events, summary };
}

const products = () => db.prisma.product.findMany({ orderBy: { id: 'asc' }, omit: { categoryId: true } });

describe('heraldEntityEvents on PostgreSQL', () => {
  it('publishes exactly the selected events, in the transaction of each change', async () => {
    const { prisma, events } = catalog();
    await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
    expect(await writtenTogether(db.prisma, 'products', 'p1')).toBe(true);
    await prisma.product.update({ where: { id: 'p1' }, data: { price: 3 } });
    expect(await writtenTogether(db.prisma, 'products', 'p1')).toBe(true);
    await prisma.supplier.create({ data: { id: 's1', name: 'Acme' } }); // not selected
    await prisma.product.create({ data: { id: 'p2', name: 'Ink', price: 5 } });
    await prisma.product.delete({ where: { id: 'p1' } });

    const stored = await events();
    expect(stored.map((e) => [e.name, e.orderingKey, e.payload.version, e.payload.entity])).toEqual([
      ['catalog.product.created', 'Product:p1', 1, { id: 'p1', name: 'Pen', price: 2 }],
      ['catalog.product.updated', 'Product:p1', 2, { id: 'p1', name: 'Pen', price: 3 }],
      ['catalog.product.created', 'Product:p2', 1, { id: 'p2', name: 'Ink', price: 5 }],
      ['catalog.product.deleted', 'Product:p1', 3, { id: 'p1', name: 'Pen', price: 3 }],
    ]);
    expect(stored[0]!.payload).toMatchObject({
      entityType: 'Product',
      keys: { id: 'p1' },
      keysAsString: 'p1',
    });
    expect(await products()).toEqual([{ id: 'p2', name: 'Ink', price: 5, version: 1 }]);
  });

  it('rolls the change back when its events cannot be written', async () => {
    const { prisma, events } = catalog();
    await expect(prisma.product.create({ data: { id: 'p1', name: 'boom', price: 1 } })).rejects.toThrow(
      'cannot map boom',
    );
    await prisma.product.create({ data: { id: 'p2', name: 'Ink', price: 5 } });
    await expect(prisma.product.update({ where: { id: 'p2' }, data: { name: 'boom' } })).rejects.toThrow(
      'cannot map boom',
    );
    expect(await products()).toEqual([{ id: 'p2', name: 'Ink', price: 5, version: 1 }]);
    expect((await events()).map((e) => e.name)).toEqual(['catalog.product.created']);
  });

  it('joins the unit of work: writes through the client or the unit of work’s tx commit or roll back with their events', async () => {
    const { prisma, uow, summary } = catalog();
    await uow.run(async (unit) => {
      await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
      await unit.tx.product.update({ where: { id: 'p1' }, data: { price: 3 } });
    });
    expect(await writtenTogether(db.prisma, 'products', 'p1')).toBe(true);
    await expect(
      uow.run(async () => {
        await prisma.product.create({ data: { id: 'p2', name: 'Ink', price: 5 } });
        await prisma.product.update({ where: { id: 'p1' }, data: { price: 99 } });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await expect(
      uow.run(async (unit) => {
        await unit.tx.product.create({ data: { id: 'p3', name: 'Cap', price: 1 } });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');

    expect(await summary()).toEqual(['catalog.product.created p1 v1', 'catalog.product.updated p1 v2']);
    expect(await products()).toEqual([{ id: 'p1', name: 'Pen', price: 3, version: 2 }]);
  });

  it('joins a unit of work whose transactions come from the plain client', async () => {
    const { prisma, uow, summary } = catalog({}, true);
    await uow.run(() => prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } }));
    await expect(
      uow.run(async () => {
        await prisma.product.create({ data: { id: 'p2', name: 'Ink', price: 5 } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await summary()).toEqual(['catalog.product.created p1 v1']);
    expect((await products()).map((p) => p.id)).toEqual(['p1']);
  });

  it('refuses writes in a transaction it cannot join, before writing anything', async () => {
    const { prisma, uow, events } = catalog();
    const own = prisma.$transaction(async (tx) => {
      await tx.supplier.create({ data: { id: 's1', name: 'Acme' } }); // not selected: fine
      await tx.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
    });
    await expect(own).rejects.toBeInstanceOf(EntityEventsTransactionError);
    await expect(own).rejects.toThrow(/withEntityEvents\(tx\)/);
    await expect(
      prisma.$transaction([prisma.product.create({ data: { id: 'p2', name: 'Ink', price: 5 } })]),
    ).rejects.toBeInstanceOf(EntityEventsTransactionError);
    // A second transaction opened inside a unit of work is not the unit of work's.
    await expect(
      uow.run(() =>
        prisma.$transaction((tx) => tx.product.create({ data: { id: 'p3', name: 'Cap', price: 1 } })),
      ),
    ).rejects.toBeInstanceOf(EntityEventsTransactionError);

    expect(await products()).toEqual([]);
    expect(await db.prisma.supplier.count()).toBe(0);
    expect(await events()).toEqual([]);
  });

  it('withEntityEvents(tx) captures writes in your own transaction, extended client or not', async () => {
    const { prisma, extension, summary } = catalog();
    await prisma.$transaction(async (tx) => {
      const etx = extension.withEntityEvents(tx);
      await etx.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
      await etx.supplier.create({ data: { id: 's1', name: 'Acme' } });
      // A nested transaction (savepoint) keeps capturing.
      await etx.$transaction((inner) => inner.product.update({ where: { id: 'p1' }, data: { price: 3 } }));
    });
    await expect(
      prisma.$transaction(async (tx) => {
        await extension.withEntityEvents(tx).product.update({ where: { id: 'p1' }, data: { price: 50 } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await db.prisma.$transaction((tx) =>
      extension.withEntityEvents(tx).product.create({ data: { id: 'p2', name: 'Ink', price: 5 } }),
    );
    expect(await writtenTogether(db.prisma, 'products', 'p2')).toBe(true);

    expect(await summary()).toEqual([
      'catalog.product.created p1 v1',
      'catalog.product.updated p1 v2',
      'catalog.product.created p2 v1',
    ]);
    expect((await products()).map((p) => [p.id, p.price])).toEqual([
      ['p1', 3],
      ['p2', 5],
    ]);
    expect(() => extension.withEntityEvents(prisma)).toThrow(ConfigurationError);
  });

  it('versions: increments on update and upsert, leaves an explicit version alone, deletes carry the next one', async () => {
    const { prisma, summary } = catalog();
    await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
    await prisma.product.update({ where: { id: 'p1' }, data: { price: 3 } });
    await prisma.product.upsert({
      where: { id: 'p1' },
      create: { id: 'p1', name: 'Pen', price: 1 },
      update: { price: 4 },
    });
    await prisma.product.update({ where: { id: 'p1' }, data: { price: 5, version: 10 } });
    await prisma.product.delete({ where: { id: 'p1' } });
    expect(await summary()).toEqual([
      'catalog.product.created p1 v1',
      'catalog.product.updated p1 v2',
      'catalog.product.updated p1 v3',
      'catalog.product.updated p1 v10',
      'catalog.product.deleted p1 v11',
    ]);
  });

  it('a versioned row re-created after a delete can start above its tombstone', async () => {
    const { prisma, summary } = catalog({ versioning: { initial: () => 100 } });
    await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
    expect(await summary()).toEqual(['catalog.product.created p1 v100']);
  });

  it('upsert publishes created or updated, by what it did', async () => {
    const { prisma, summary } = catalog();
    const upsert = (price: number) =>
      prisma.product.upsert({
        where: { id: 'p1' },
        create: { id: 'p1', name: 'Pen', price },
        update: { price },
      });
    await upsert(1);
    await upsert(2);
    expect(await summary()).toEqual(['catalog.product.created p1 v1', 'catalog.product.updated p1 v2']);
  });

  it('returns the caller’s select / omit / include while the event carries the full row', async () => {
    const { prisma, events } = catalog();
    expect(
      await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 }, select: { id: true } }),
    ).toEqual({ id: 'p1' });
    await prisma.productTag.create({ data: { productId: 'p1', tag: 'red' } });
    expect(
      await prisma.product.update({
        where: { id: 'p1' },
        data: { price: 3 },
        omit: { version: true, categoryId: true },
      }),
    ).toEqual({ id: 'p1', name: 'Pen', price: 3 });
    expect(
      await prisma.product.update({
        where: { id: 'p1' },
        data: { price: 4 },
        select: { name: true, tags: { select: { tag: true } } },
      }),
    ).toEqual({ name: 'Pen', tags: [{ tag: 'red' }] });
    expect(
      await prisma.product.update({ where: { id: 'p1' }, data: { price: 5 }, include: { tags: true } }),
    ).toMatchObject({ id: 'p1', price: 5, tags: [{ tag: 'red' }] });
    expect(
      await prisma.product.delete({
        where: { id: 'p1' },
        select: { name: true, tags: { select: { tag: true } } },
      }),
    ).toEqual({ name: 'Pen', tags: [{ tag: 'red' }] });

    const productEvents = (await events()).filter((e) => e.name.startsWith('catalog.product.'));
    expect(productEvents.map((e) => [e.name, e.payload.version, e.payload.entity])).toEqual([
      ['catalog.product.created', 1, { id: 'p1', name: 'Pen', price: 2 }],
      ['catalog.product.updated', 2, { id: 'p1', name: 'Pen', price: 3 }],
      ['catalog.product.updated', 3, { id: 'p1', name: 'Pen', price: 4 }],
      ['catalog.product.updated', 4, { id: 'p1', name: 'Pen', price: 5 }],
      ['catalog.product.deleted', 5, { id: 'p1', name: 'Pen', price: 5 }],
    ]);
  });

  it('composite keys: keys, keysAsString and ordering key name every key field', async () => {
    const { prisma, events } = catalog();
    await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
    await prisma.productTag.create({ data: { productId: 'p1', tag: 'red' } });
    await prisma.productTag.update({ where: { productId_tag: { productId: 'p1', tag: 'red' } }, data: {} });
    await prisma.productTag.delete({ where: { productId_tag: { productId: 'p1', tag: 'red' } } });
    const tagEvents = (await events()).filter((e) => e.name.startsWith('catalog.product-tag'));
    expect(tagEvents.map((e) => [e.name, e.orderingKey, e.payload.keysAsString, e.payload.version])).toEqual([
      ['catalog.product-tag.created', 'ProductTag:p1,red', 'p1,red', 1],
      ['catalog.product-tag.updated', 'ProductTag:p1,red', 'p1,red', 2],
      ['catalog.product-tag.deleted', 'ProductTag:p1,red', 'p1,red', 3],
    ]);
    expect(tagEvents[0]!.payload.keys).toEqual({ productId: 'p1', tag: 'red' });
    // No mapping toEto: ABP's EntityEto.
    expect(tagEvents[0]!.payload.entity).toEqual({ entityType: 'ProductTag', keysAsString: 'p1,red' });
  });

  it('selects by namespace prefix, predicate or all; unmapped models get EntityEto events', async () => {
    const run = async (options: Partial<PrismaEntityEventsOptions>) => {
      await db.reset();
      const { prisma, events } = catalog({ mappings: {}, versioning: false, ...options });
      await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
      await prisma.supplier.create({ data: { id: 's1', name: 'Acme' } });
      return (await events()).map((e) => e.name);
    };
    const namespaced = (model: string) => (model === 'Supplier' ? `purchasing.${model}` : `catalog.${model}`);
    expect(await run({ entityType: namespaced, selectors: [EntitySelectors.prefix('catalog')] })).toEqual([
      'catalog.Product.created',
    ]);
    expect(await run({ entityType: namespaced, selectors: [EntitySelectors.prefix('purchasing')] })).toEqual([
      'purchasing.Supplier.created',
    ]);
    expect(await run({ selectors: [EntitySelectors.where((type) => type.startsWith('S'))] })).toEqual([
      'Supplier.created',
    ]);
    expect(await run({ selectors: [EntitySelectors.all()] })).toEqual([
      'Product.created',
      'Supplier.created',
    ]);
  });
});

describe('nested writes on PostgreSQL', () => {
  it('refuses nested writes into a selected model (their events would be lost), at any depth', async () => {
    const { prisma, extension, summary } = catalog();
    await expect(
      prisma.product.create({
        data: { id: 'p1', name: 'Pen', price: 2, tags: { create: [{ tag: 'red' }] } },
      }),
    ).rejects.toBeInstanceOf(EntityEventsUnsupportedError);
    await expect(
      prisma.productTag.create({
        data: { tag: 'red', product: { create: { id: 'p1', name: 'Pen', price: 2 } } },
      }),
    ).rejects.toThrow(/ProductTag.product.create writes Product rows inside a nested write/);
    await expect(
      prisma.$transaction((tx) =>
        extension.withEntityEvents(tx).product.create({
          data: { id: 'p1', name: 'Pen', price: 2, tags: { create: [{ tag: 'red' }] } },
        }),
      ),
    ).rejects.toBeInstanceOf(EntityEventsUnsupportedError);
    expect(await products()).toEqual([]);

    // connect only changes the row holding the foreign key: allowed.
    await prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
    await prisma.productTag.create({ data: { tag: 'red', product: { connect: { id: 'p1' } } } });
    expect(await summary()).toEqual([
      'catalog.product.created p1 v1',
      'catalog.product-tag.created p1,red v1',
    ]);
  });

  it('lets nested writes into models that are not selected through, and looks through them', async () => {
    const { prisma, summary } = catalog({ selectors: [EntitySelectors.model('Product')] });
    await prisma.product.create({
      data: { id: 'p1', name: 'Pen', price: 2, tags: { create: [{ tag: 'red' }] } },
    });
    expect(await db.prisma.productTag.count()).toBe(1);
    expect(await summary()).toEqual(['catalog.product.created p1 v1']);

    const onlyTags = catalog({ selectors: [EntitySelectors.model('ProductTag')] });
    await expect(
      onlyTags.prisma.category.create({
        data: {
          id: 'c1',
          name: 'Office',
          products: { create: [{ id: 'p2', name: 'Ink', price: 5, tags: { create: [{ tag: 'blue' }] } }] },
        },
      }),
    ).rejects.toThrow(/Category.products.tags.create writes ProductTag rows/);
    expect(await db.prisma.category.count()).toBe(0);
    expect(await db.prisma.productTag.count()).toBe(1);
  });
});

describe('bulk writes on PostgreSQL', () => {
  it('createMany, updateMany and deleteMany publish one event per row, in the same transaction', async () => {
    const { prisma, uow, summary } = catalog();
    expect(
      await prisma.product.createMany({
        data: [
          { id: 'a', name: 'A', price: 1 },
          { id: 'b', name: 'B', price: 2 },
          { id: 'c', name: 'C', price: 30 },
        ],
      }),
    ).toEqual({ count: 3 });
    expect(await prisma.product.updateMany({ where: { price: { lt: 10 } }, data: { price: 9 } })).toEqual({
      count: 2,
    });
    expect(await prisma.product.deleteMany({ where: { id: { in: ['a', 'c'] } } })).toEqual({ count: 2 });
    await expect(
      uow.run(async () => {
        await prisma.product.updateMany({ data: { price: 0 } });
        await prisma.product.deleteMany({});
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');

    expect((await summary()).sort()).toEqual(
      [
        'catalog.product.created a v1',
        'catalog.product.created b v1',
        'catalog.product.created c v1',
        'catalog.product.updated a v2',
        'catalog.product.updated b v2',
        'catalog.product.deleted a v3',
        'catalog.product.deleted c v2',
      ].sort(),
    );
    expect(await products()).toEqual([{ id: 'b', name: 'B', price: 9, version: 2 }]);
  });

  it('the …AndReturn variants return the caller’s projection', async () => {
    const { prisma, summary } = catalog();
    expect(
      await prisma.product.createManyAndReturn({
        data: [
          { id: 'a', name: 'A', price: 1 },
          { id: 'b', name: 'B', price: 2 },
        ],
        select: { id: true },
      }),
    ).toEqual([{ id: 'a' }, { id: 'b' }]);
    const updated = await prisma.product.updateManyAndReturn({
      where: { id: 'a' },
      data: { price: 5 },
      omit: { name: true },
    });
    expect(updated).toEqual([{ id: 'a', price: 5, version: 2, categoryId: null }]);
    expect(await summary()).toEqual([
      'catalog.product.created a v1',
      'catalog.product.created b v1',
      'catalog.product.updated a v2',
    ]);
  });

  it('deleteMany without versions deletes exactly the rows it read', async () => {
    const { prisma, summary } = catalog({ versioning: false });
    await prisma.product.createMany({
      data: [
        { id: 'a', name: 'A', price: 1 },
        { id: 'b', name: 'B', price: 2 },
      ],
    });
    expect(await prisma.product.deleteMany({ where: { price: { gt: 1 } } })).toEqual({ count: 1 });
    expect(await prisma.product.deleteMany({ where: { price: { gt: 100 } } })).toEqual({ count: 0 });
    expect(await summary()).toEqual([
      'catalog.product.created a vundefined',
      'catalog.product.created b vundefined',
      'catalog.product.deleted b vundefined',
    ]);
  });
});
