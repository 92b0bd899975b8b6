import { MemoryDatabase } from '@herald/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type EntityChange,
  EntitySynchronizer,
  entityEvents,
  keysAsString,
  MemoryEntityStore,
} from '../src/index.js';

interface Product {
  id: string;
  name: string;
  price: number;
}
const ProductEvents = entityEvents<Product>('catalog.product');

type Op = { kind: 'upsert'; id: string; price: number } | { kind: 'delete'; id: string };

/** Replays operations on a "source" table with per-entity versions; returns the emitted changes and final state. */
function runSource(ops: readonly Op[]) {
  const rows = new Map<string, Product>();
  const versions = new Map<string, number>();
  const emitted: Array<{ kind: 'created' | 'updated' | 'deleted'; change: EntityChange<Product> }> = [];
  for (const op of ops) {
    const version = (versions.get(op.id) ?? 0) + 1;
    if (op.kind === 'upsert') {
      const existed = rows.has(op.id);
      const row = { id: op.id, name: `product ${op.id}`, price: op.price };
      rows.set(op.id, row);
      versions.set(op.id, version);
      emitted.push({ kind: existed ? 'updated' : 'created', change: change(row, version) });
    } else if (rows.has(op.id)) {
      const row = rows.get(op.id)!;
      rows.delete(op.id);
      versions.set(op.id, version);
      emitted.push({ kind: 'deleted', change: change(row, version) });
    }
  }
  return { rows, emitted };
}

function change(row: Product, version: number): EntityChange<Product> {
  const keys = { id: row.id };
  return {
    entityType: 'catalog.Product',
    keys,
    keysAsString: keysAsString(keys),
    version,
    entity: { ...row },
  };
}

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('upsert' as const),
    id: fc.constantFrom('a', 'b', 'c', 'd'),
    price: fc.integer({ min: 0, max: 1000 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c', 'd') }),
);

describe('EntitySynchronizer (property-based)', () => {
  it('converges to the source under shuffled, duplicated and out-of-order delivery', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 0, maxLength: 20 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        async (ops, duplicates, randomness) => {
          const { rows, emitted } = runSource(ops);
          // Duplicate some deliveries, then shuffle everything.
          const deliveries = [
            ...emitted,
            ...duplicates.filter(() => emitted.length > 0).map((i) => emitted[i % emitted.length]!),
          ];
          const iterator = randomness[Symbol.iterator]();
          for (let i = deliveries.length - 1; i > 0; i--) {
            const j = Math.floor(iterator.next().value! * (i + 1));
            [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
          }
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
