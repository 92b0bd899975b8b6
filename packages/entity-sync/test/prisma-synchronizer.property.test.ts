import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntitySynchronizer, entityEvents } from '../src/index.js';
import { prismaEntityStore } from '../src/prisma/index.js';
import { openPostgres, type Postgres } from './helpers/postgres.js';
import {
  deliveriesOf,
  lanesOf,
  opArbitrary,
  type Product,
  runSource,
  sortedRows,
} from './helpers/source-model.js';

const ProductEvents = entityEvents<Product>('catalog.product');

let db: Postgres;
beforeAll(async () => {
  db = await openPostgres();
});
afterAll(async () => {
  await db?.close();
});

describe('EntitySynchronizer on PostgreSQL through prismaEntityStore (property-based)', () => {
  it('converges to the source under shuffled, duplicated, out-of-order and concurrent delivery', async () => {
    const store = prismaEntityStore<Product>(db.prisma, { provider: 'postgresql', model: 'OrderProduct' });
    const synchronizer = new EntitySynchronizer({ events: ProductEvents, store });
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        fc.integer({ min: 1, max: 3 }),
        async (ops, duplicates, randomness, lanes) => {
          await db.prisma.$executeRawUnsafe('TRUNCATE "order_products", "herald_entity_versions"');
          const { rows, emitted } = runSource(ops);
          // Several consumers apply at once, each delivery in its own transaction (like the inbox).
          await Promise.all(
            lanesOf(deliveriesOf(emitted, duplicates, randomness), lanes).map(async (queue) => {
              for (const delivery of queue) {
                await db.prisma.$transaction((tx) => synchronizer.apply(delivery.kind, delivery.change, tx));
              }
            }),
          );
          expect(await db.prisma.orderProduct.findMany({ orderBy: { id: 'asc' } })).toEqual(sortedRows(rows));
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
});
