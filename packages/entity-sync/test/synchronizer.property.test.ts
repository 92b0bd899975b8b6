import { MemoryDatabase } from '@herald/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntitySynchronizer, entityEvents, MemoryEntityStore } from '../src/index.js';
import { deliveriesOf, opArbitrary, type Product, runSource } from './helpers/source-model.js';

const ProductEvents = entityEvents<Product>('catalog.product');

describe('EntitySynchronizer (property-based)', () => {
  it('converges to the source under shuffled, duplicated and out-of-order delivery', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 20 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        async (ops, duplicates, randomness) => {
          const { rows, emitted } = runSource(ops);
          const deliveries = deliveriesOf(emitted, duplicates, randomness);
          const database = new MemoryDatabase();
          const store = new MemoryEntityStore<Product>(database, 'products');
          const synchronizer = new EntitySynchronizer({ events: ProductEvents, store });
          for (const delivery of deliveries) {
            await database.transaction((tx) => synchronizer.apply(delivery.kind, delivery.change, tx));
          }
          expect(Object.fromEntries(store.entities())).toEqual(Object.fromEntries(rows));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('would diverge without versions (the property test can fail)', async () => {
    const { rows, emitted } = runSource([
      { kind: 'upsert', id: 'a', price: 1 },
      { kind: 'upsert', id: 'a', price: 2 },
    ]);
    const database = new MemoryDatabase();
    const store = new MemoryEntityStore<Product>(database, 'products');
    const synchronizer = new EntitySynchronizer({ events: ProductEvents, store });
    for (const delivery of [...emitted].reverse()) {
      const { version: _drop, ...unversioned } = delivery.change;
      await database.transaction((tx) => synchronizer.apply(delivery.kind, unversioned, tx));
    }
    expect(Object.fromEntries(store.entities())).not.toEqual(Object.fromEntries(rows));
  });
});
