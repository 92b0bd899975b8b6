import { InProcessBroker } from '@herald/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntitySelectors, EntitySynchronizer, entityEvents } from '../src/index.js';
import { heraldEntityEvents, prismaEntityStore, prismaSnapshotSource } from '../src/prisma/index.js';
import { Buses, openPostgres, type Postgres, type PrismaClient, prismaBus } from './helpers/postgres.js';

interface ProductEto {
  id: string;
  name: string;
  price: number;
}
interface OrderProduct {
  id: string;
  name: string;
  price: number;
}
const ProductEvents = entityEvents<ProductEto>('catalog.product');
const toEto = (p: ProductEto & { version: number }): ProductEto => ({
  id: p.id,
  name: p.name,
  price: p.price,
});

let db: Postgres;
let ordering: PrismaClient;
const buses = new Buses();
beforeAll(async () => {
  db = await openPostgres();
  ordering = db.client(); // the ordering service's own client (same database, separate pool)
});
afterAll(async () => {
  await db?.close();
});
beforeEach(async () => {
  await db.reset();
});
afterEach(async () => {
  await buses.stopAll();
});

function catalogService(broker: InProcessBroker) {
  const { builder, log } = prismaBus('catalog', db.prisma, broker);
  const bus = buses.track(builder.build());
  const prisma = db.prisma.$extends(
    heraldEntityEvents({
      bus,
      selectors: [EntitySelectors.model('Product')],
      mappings: { Product: { events: ProductEvents, keys: (p: ProductEto) => ({ id: p.id }), toEto } },
      versioning: true,
    }),
  );
  const snapshots = prismaSnapshotSource(db.prisma.product, { key: 'id', version: 'version', toEto });
  return { bus, log, prisma, snapshots };
}

function orderingService(broker: InProcessBroker) {
  const store = prismaEntityStore<OrderProduct>(ordering, { provider: 'postgresql', model: 'OrderProduct' });
  const synchronizer = new EntitySynchronizer<OrderProduct, ProductEto>({
    events: ProductEvents,
    store,
    transaction: (work) => ordering.$transaction(work),
  });
  const { builder } = prismaBus('ordering', ordering, broker);
  synchronizer.register(builder);
  const bus = buses.track(builder.build());
  return { bus, store, synchronizer };
}

const copies = () => ordering.orderProduct.findMany({ orderBy: { id: 'asc' } });
const sources = async () =>
  await db.prisma.product.findMany({ orderBy: { id: 'asc' }, omit: { version: true, categoryId: true } });

describe('EntitySynchronizer with prismaEntityStore on PostgreSQL', () => {
  it('keeps OrderProduct rows in step with Product through the outbox, the bus and the inbox', async () => {
    const broker = new InProcessBroker();
    const catalog = catalogService(broker);
    const copy = orderingService(broker);
    await copy.bus.start();
    await catalog.bus.start();
    await catalog.prisma.product.create({ data: { id: 'p1', name: 'Pen', price: 2 } });
    await catalog.prisma.product.create({ data: { id: 'p2', name: 'Ink', price: 5 } });
    await catalog.prisma.product.update({ where: { id: 'p1' }, data: { price: 3 } });
    await catalog.prisma.product.createMany({ data: [{ id: 'p3', name: 'Cap', price: 1 }] });
    await catalog.prisma.product.delete({ where: { id: 'p2' } });
    await catalog.bus.drain();
    await copy.bus.drain();
    expect(await copies()).toEqual(await sources());
    expect(await copy.store.get('p2', undefined)).toMatchObject({ deleted: true, version: 2 });
    expect(await copy.store.get('p1', undefined)).toMatchObject({ deleted: false, version: 2 });
  });

  it('ignores older and equal versions, and a tombstone blocks resurrection', async () => {
    const { store, synchronizer } = orderingService(new InProcessBroker());
    const change = (version: number, price: number) => ({
      entityType: 'Product',
      keys: { id: 'p1' },
      keysAsString: 'p1',
      version,
      entity: { id: 'p1', name: 'Pen', price },
    });
    const apply = (kind: 'created' | 'updated' | 'deleted', version: number, price = 0) =>
      ordering.$transaction((tx) => synchronizer.apply(kind, change(version, price), tx));
    expect(await apply('updated', 3, 30)).toBe('applied');
    expect(await apply('created', 1, 10)).toBe('ignored-older');
    expect(await apply('updated', 3, 31)).toBe('ignored-older');
    expect(await copies()).toEqual([{ id: 'p1', name: 'Pen', price: 30 }]);
    expect(await apply('deleted', 4)).toBe('applied');
    expect(await apply('updated', 2, 20)).toBe('ignored-older');
    expect(await copies()).toEqual([]);
    expect(await apply('created', 5, 50)).toBe('applied');
    expect(await copies()).toEqual([{ id: 'p1', name: 'Pen', price: 50 }]);
    expect(await store.keys(undefined)).toEqual(['p1']);
  });

  it('decides racing writes of one key in the database: a held claim makes older writers skip and newer ones wait', async () => {
    const store = prismaEntityStore<OrderProduct>(ordering, {
      provider: 'postgresql',
      model: 'OrderProduct',
    });
    const other = db.client();
    const otherStore = prismaEntityStore<OrderProduct>(other, {
      provider: 'postgresql',
      model: 'OrderProduct',
    });
    const row = (price: number) => ({ id: 'p1', name: 'Pen', price });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let claimed!: () => void;
    const claimedOnce = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    // Transaction A writes version 5 and stays open.
    const a = ordering.$transaction(async (tx) => {
      await store.put('p1', row(5), 5, tx);
      claimed();
      await held;
    });
    await claimedOnce;
    // B (older) and C (newer) run on another connection while A holds the key.
    const b = otherStore.put('p1', row(3), 3, undefined);
    const c = otherStore.put('p1', row(7), 7, undefined);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await db.prisma.orderProduct.findMany()).toEqual([]); // nothing committed yet
    release();
    await Promise.all([a, b, c]);
    expect(await copies()).toEqual([row(7)]);
    expect(await store.get('p1', undefined)).toMatchObject({ version: 7, deleted: false });
  });

  it('without versions every change applies (ABP without IHasEntityVersion)', async () => {
    const store = prismaEntityStore<OrderProduct>(ordering, {
      provider: 'postgresql',
      model: 'OrderProduct',
    });
    await store.put('p1', { id: 'p1', name: 'Pen', price: 2 }, 4, undefined);
    await store.put('p1', { id: 'p1', name: 'Pen', price: 1 }, undefined, undefined);
    expect(await copies()).toEqual([{ id: 'p1', name: 'Pen', price: 1 }]);
    expect(await store.get('p1', undefined)).toMatchObject({ version: undefined });
  });

  it('treats rows that predate the synchronizer as unversioned copies', async () => {
    const store = prismaEntityStore<OrderProduct>(ordering, {
      provider: 'postgresql',
      model: 'OrderProduct',
    });
    await ordering.orderProduct.create({ data: { id: 'seed', name: 'Old', price: 1 } });
    expect(await store.get('seed', undefined)).toEqual({
      entity: { id: 'seed', name: 'Old', price: 1 },
      version: undefined,
      deleted: false,
      appliedAt: 0,
    });
    expect(await store.get('none', undefined)).toBeUndefined();
  });

  it('backfills from a Prisma snapshot while live events flow, reconciles, and reports no drift', async () => {
    const broker = new InProcessBroker();
    const catalog = catalogService(broker);
    await catalog.bus.start();
    for (let i = 0; i < 25; i++) {
      await catalog.prisma.product.create({
        data: { id: `p${String(i).padStart(2, '0')}`, name: `P${i}`, price: i },
      });
    }
    await catalog.bus.drain(); // nobody listened: these events are gone for the new consumer

    const copy = orderingService(broker);
    await ordering.orderProduct.create({ data: { id: 'stale', name: 'deleted long ago', price: 0 } });
    await copy.bus.start();
    expect((await copy.synchronizer.checkDrift(catalog.snapshots)).missing).toHaveLength(25);

    const backfill = copy.synchronizer.backfill(catalog.snapshots, { pageSize: 7, reconcile: true });
    await catalog.prisma.product.update({ where: { id: 'p03' }, data: { price: 300 } });
    await catalog.prisma.product.delete({ where: { id: 'p04' } });
    await catalog.prisma.product.create({ data: { id: 'p99', name: 'new', price: 1 } });
    const result = await backfill;
    await catalog.bus.drain();
    await copy.bus.drain();

    expect(result.applied).toBeGreaterThan(0);
    expect(result.removed).toBe(1);
    expect(await copies()).toEqual(await sources());
    expect(await copy.synchronizer.checkDrift(catalog.snapshots)).toMatchObject({
      missing: [],
      extra: [],
      stale: [],
      checked: 25,
    });
  });
});

describe('prismaSnapshotSource', () => {
  it('pages by key (composite keys too) and round-trips its cursor', async () => {
    await db.prisma.product.createMany({
      data: ['a', 'b', 'c'].map((id) => ({ id, name: id, price: 1 })),
    });
    await db.prisma.productTag.createMany({
      data: [
        { productId: 'a', tag: 'x' },
        { productId: 'a', tag: 'y' },
        { productId: 'b', tag: 'x' },
        { productId: 'c', tag: 'a' },
        { productId: 'c', tag: 'z' },
      ],
    });
    const source = prismaSnapshotSource(db.prisma.productTag, {
      key: ['productId', 'tag'],
      version: 'version',
      toEto: (t) => ({ productId: t.productId, tag: t.tag }),
    });
    const first = await source.page({ limit: 2 });
    expect(first.items.map((item) => item.keysAsString)).toEqual(['a,x', 'a,y']);
    const second = await source.page({ after: first.next!, limit: 2 });
    expect(second.items.map((item) => item.keysAsString)).toEqual(['b,x', 'c,a']);
    const third = await source.page({ after: second.next!, limit: 2 });
    expect(third).toEqual({
      items: [{ keysAsString: 'c,z', version: 1, entity: { productId: 'c', tag: 'z' } }],
    });
    await expect(source.page({ after: 'garbage', limit: 2 })).rejects.toThrow('is not a cursor');

    const filtered = prismaSnapshotSource(db.prisma.product, {
      key: 'id',
      where: { id: { not: 'b' } },
      toEto: (p) => p.id,
    });
    expect(
      (await filtered.page({ limit: 10 })).items.map((item) => [item.keysAsString, item.version]),
    ).toEqual([
      ['a', undefined],
      ['c', undefined],
    ]);
  });
});
