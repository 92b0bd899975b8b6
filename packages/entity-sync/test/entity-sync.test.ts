import {
  createIntegrationEventBus,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBus,
  MemoryDatabase,
  type MemoryTransaction,
  memoryEventLog,
  silentLogger,
} from '@herald/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EntityEventPublisher,
  EntitySelectors,
  EntitySynchronizer,
  entityEvents,
  MemoryEntityStore,
  snapshotSource,
} from '../src/index.js';

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
const fast = {
  pollingInterval: 50,
  localFailedRetryInterval: 5,
  failedRetryInterval: 20,
  minimumRetryInterval: 500,
};

const running: IntegrationEventBus[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});

/** A catalog service whose product writes publish entity events in the same transaction. */
function catalog(broker: InProcessBroker, selectors = [EntitySelectors.model('catalog.Product')]) {
  const log = memoryEventLog();
  const bus = createIntegrationEventBus({ service: 'catalog', logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .configure(fast)
    .build();
  running.push(bus);
  const entityEventsPublisher = new EntityEventPublisher(bus, {
    selectors,
    mappings: {
      'catalog.Product': {
        events: ProductEvents,
        keys: (p: Product) => ({ id: p.id }),
        toEto: (p: Product) => ({ id: p.id, name: p.name, price: p.price }),
        version: (p: Product) => p.version,
      },
    },
  });
  const db = log.database;
  async function save(product: Omit<Product, 'version'>, options: { fail?: boolean } = {}) {
    await db.transaction(async (tx) => {
      const existing = tx.get<Product>('products', product.id);
      const row = { ...product, version: (tx.get<number>('versions', product.id) ?? 0) + 1 };
      tx.put('products', product.id, row);
      tx.put('versions', product.id, row.version);
      await entityEventsPublisher.publish(
        [{ entityType: 'catalog.Product', operation: existing ? 'updated' : 'created', row }],
        { tx },
      );
      if (options.fail) throw new Error('rolled back');
    });
  }
  async function remove(id: string) {
    await db.transaction(async (tx) => {
      const existing = tx.get<Product>('products', id)!;
      const version = existing.version + 1;
      tx.delete('products', id);
      tx.put('versions', id, version);
      await entityEventsPublisher.publish(
        [{ entityType: 'catalog.Product', operation: 'deleted', row: { ...existing, version } }],
        { tx },
      );
    });
  }
  const snapshots = snapshotSource<Product, ProductEto>({
    readRows: async (after, limit) =>
      db
        .all<Product>('products')
        .sort((a, b) => a.id.localeCompare(b.id))
        .filter((p) => after === undefined || p.id > after)
        .slice(0, limit),
    keysAsString: (p) => p.id,
    version: (p) => p.version,
    toEto: (p) => ({ id: p.id, name: p.name, price: p.price }),
  });
  return { bus, log, db, save, remove, snapshots, entityEventsPublisher };
}

/** An ordering service keeping a local product copy with a synchronizer. */
function ordering(broker: InProcessBroker) {
  const log = memoryEventLog();
  const store = new MemoryEntityStore<ProductEto>(log.database, 'order_products');
  const synchronizer = new EntitySynchronizer<ProductEto, ProductEto>({
    events: ProductEvents,
    store,
    transaction: (work) => log.database.transaction(work),
  });
  const builder = createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .configure(fast);
  synchronizer.register(builder);
  const bus = builder.build();
  running.push(bus);
  return { bus, store, synchronizer, log };
}

describe('entity events', () => {
  it('publishes exactly the selected events, in the same transaction (rollback → none)', async () => {
    const broker = new InProcessBroker();
    const source = catalog(broker);
    await source.bus.start();
    await source.save({ id: 'p1', name: 'Pen', price: 2 });
    await source.save({ id: 'p1', name: 'Pen', price: 3 });
    await expect(source.save({ id: 'p2', name: 'Ink', price: 5 }, { fail: true })).rejects.toThrow(
      'rolled back',
    );
    await source.remove('p1');
    const published = await source.log.outbox.list({ limit: 100 });
    expect(published.map((r) => r.message.name)).toEqual([
      'catalog.product.created',
      'catalog.product.updated',
      'catalog.product.deleted',
    ]);
    expect(published.every((r) => r.message.orderingKey === 'catalog.Product:p1')).toBe(true);
  });

  it('selects by model, prefix, predicate or all, and defaults to EntityEto', async () => {
    const bus = createIntegrationEventBus({ service: 'x', logger: silentLogger }).build();
    const publisher = (
      selectors: Parameters<typeof EntitySelectors.all>[] | ReturnType<typeof EntitySelectors.all>[],
    ) => new EntityEventPublisher(bus, { selectors: selectors as ReturnType<typeof EntitySelectors.all>[] });
    const changes = [
      { entityType: 'catalog.Product', operation: 'created' as const, row: { id: 1 } },
      { entityType: 'catalog.Category', operation: 'created' as const, row: { id: 2 } },
      { entityType: 'ordering.Order', operation: 'created' as const, row: { id: 3 } },
    ];
    const names = (p: EntityEventPublisher) =>
      p.toEvents(changes).map((e) => (e as { entityType: string }).entityType);
    expect(names(publisher([EntitySelectors.all()]))).toEqual([
      'catalog.Product',
      'catalog.Category',
      'ordering.Order',
    ]);
    expect(names(publisher([EntitySelectors.model('ordering.Order')]))).toEqual(['ordering.Order']);
    expect(names(publisher([EntitySelectors.prefix('catalog')]))).toEqual([
      'catalog.Product',
      'catalog.Category',
    ]);
    expect(names(publisher([EntitySelectors.where((t) => t.endsWith('Category'))]))).toEqual([
      'catalog.Category',
    ]);
    const [eto] = publisher([EntitySelectors.model('catalog.Product')]).toEvents(changes) as Array<{
      entity: unknown;
      keysAsString: string;
    }>;
    expect(eto!.entity).toEqual({ entityType: 'catalog.Product', keysAsString: '1' });
  });
});

describe('EntitySynchronizer over the bus', () => {
  it('keeps a local copy through create, update and delete', async () => {
    const broker = new InProcessBroker();
    const source = catalog(broker);
    const copy = ordering(broker);
    await copy.bus.start();
    await source.bus.start();
    await source.save({ id: 'p1', name: 'Pen', price: 2 });
    await source.save({ id: 'p2', name: 'Ink', price: 5 });
    await source.save({ id: 'p1', name: 'Pen', price: 3 });
    await source.remove('p2');
    await source.bus.drain();
    await copy.bus.drain();
    expect(Object.fromEntries(copy.store.entities())).toEqual({ p1: { id: 'p1', name: 'Pen', price: 3 } });
  });

  it('honours ignoreDeleted and composite keys', async () => {
    const database = new MemoryDatabase();
    const store = new MemoryEntityStore<{ a: string; b: number }>(database, 't');
    class PairSynchronizer extends EntitySynchronizer<{ a: string; b: number }, { a: string; b: number }> {
      protected override keyOf(change: { keys: Record<string, string | number> }) {
        return `${change.keys.a}/${change.keys.b}`;
      }
    }
    const sync = new PairSynchronizer({ events: entityEvents('pair'), store });
    sync.ignoreDeleted = true;
    const change = {
      entityType: 'pair',
      keys: { a: 'x', b: 1 },
      keysAsString: 'x,1',
      version: 1,
      entity: { a: 'x', b: 1 },
    };
    await database.transaction((tx) => sync.apply('created', change, tx));
    expect(await database.transaction((tx) => sync.apply('deleted', { ...change, version: 2 }, tx))).toBe(
      'ignored-kind',
    );
    expect([...store.entities().keys()]).toEqual(['x/1']);
  });

  it('backfills a new consumer from snapshots while live events flow, without regressions, and reports drift', async () => {
    const broker = new InProcessBroker();
    const source = catalog(broker);
    await source.bus.start();
    for (let i = 0; i < 30; i++)
      await source.save({ id: `p${String(i).padStart(2, '0')}`, name: `P${i}`, price: i });
    await source.bus.drain();

    // A new consumer joins: nothing so far reached it.
    const copy = ordering(broker);
    await copy.bus.start();
    const before = await copy.synchronizer.checkDrift(source.snapshots);
    expect(before.missing).toHaveLength(30);

    // Live changes race the backfill.
    const backfill = copy.synchronizer.backfill(source.snapshots, { pageSize: 7 });
    await source.save({ id: 'p03', name: 'P3', price: 300 });
    await source.remove('p04');
    await source.save({ id: 'p99', name: 'new', price: 1 });
    const result = await backfill;
    await source.bus.drain();
    await copy.bus.drain();
    expect(result.applied).toBeGreaterThan(0);

    const expected = Object.fromEntries(
      source.db.all<Product>('products').map((p) => [p.id, { id: p.id, name: p.name, price: p.price }]),
    );
    expect(Object.fromEntries(copy.store.entities())).toEqual(expected);
    const after = await copy.synchronizer.checkDrift(source.snapshots);
    expect(after).toMatchObject({ missing: [], extra: [], stale: [] });
  });

  it('reconciles copies deleted while nobody listened', async () => {
    const database = new MemoryDatabase();
    const store = new MemoryEntityStore<ProductEto>(database, 'copy');
    const sync = new EntitySynchronizer<ProductEto, ProductEto>({
      events: ProductEvents,
      store,
      transaction: (w) => database.transaction(w),
    });
    await database.transaction(async (tx) => {
      (tx as MemoryTransaction).put('copy', 'gone', {
        entity: { id: 'gone', name: 'x', price: 1 },
        version: 1,
        deleted: false,
        appliedAt: 0,
      });
    });
    const empty = snapshotSource<Product, ProductEto>({
      readRows: async () => [],
      keysAsString: (p) => p.id,
      toEto: (p) => p,
    });
    expect((await sync.checkDrift(empty)).extra).toEqual(['gone']);
    expect(await sync.backfill(empty, { reconcile: true })).toEqual({ applied: 0, removed: 1 });
    expect(store.entities().size).toBe(0);
  });
});
