import fc from 'fast-check';
import type { Collection } from 'mongodb';
import { expect } from 'vitest';
import { EntitySynchronizer, entityEvents } from '../../src/index.js';
import { mongoEntityStore } from '../../src/mongodb/index.js';
import { deliveriesOf, lanesOf, opArbitrary, type Product, runSource, sortedRows } from './source-model.js';

const ProductEvents = entityEvents<Product>('catalog.product');

/**
 * The convergence property through `mongoEntityStore`: random source histories,
 * delivered shuffled and duplicated by `maxLanes` concurrent consumers (1: one
 * after another), end as the source's state.
 */
export async function assertMongoConvergence(
  copies: Collection,
  options: { maxLanes: number; numRuns: number },
): Promise<void> {
  const synchronizer = new EntitySynchronizer({
    events: ProductEvents,
    store: mongoEntityStore<Product>(copies),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArbitrary, { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
      fc.integer({ min: 1, max: options.maxLanes }),
      async (ops, duplicates, randomness, lanes) => {
        await copies.deleteMany({});
        const { rows, emitted } = runSource(ops);
        await Promise.all(
          lanesOf(deliveriesOf(emitted, duplicates, randomness), lanes).map(async (queue) => {
            for (const delivery of queue) await synchronizer.apply(delivery.kind, delivery.change, undefined);
          }),
        );
        const live = await copies.find({ deleted: false }).sort({ _id: 1 }).toArray();
        expect(live.map((document) => document.entity)).toEqual(sortedRows(rows));
      },
    ),
    { numRuns: options.numRuns },
  );
}
