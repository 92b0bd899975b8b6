import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EntityChange, EntitySynchronizer, entityEvents, keysAsString } from '../src/index.js';
import { prismaEntityStore } from '../src/prisma/index.js';
import { openPostgres, type Postgres } from './support/postgres.js';

interface Product {
  id: string;
  name: string;
  price: number;
}
const ProductEvents = entityEvents<Product>('catalog.product');

type Op = { kind: 'upsert'; id: string; price: number } | { kind: 'delete'; id: string };
type Delivery = { kind: 'created' | 'updated' | 'deleted'; change: EntityChange<Product> };

/** Replays operations on a "source" with per-entity versions (never reset by a delete). */
function runSource(ops: readonly Op[]) {
  const rows = new Map<string, Product>();
  const versions = new Map<string, number>();
  const emitted: Delivery[] = [];
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
  return { entityType: 'Product', keys, keysAsString: keysAsString(keys), version, entity: { ...row } };
}

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('upsert' as const),
    id: fc.constantFrom('a', 'b', 'c', 'd'),
    price: fc.integer({ min: 0, max: 1000 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c', 'd') }),
);

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
          const deliveries = [
            ...emitted,
            ...duplicates.filter(() => emitted.length > 0).map((i) => emitted[i % emitted.length]!),
          ];
          const random = randomness[Symbol.iterator]();
          for (let i = deliveries.length - 1; i > 0; i--) {
            const j = Math.floor(random.next().value! * (i + 1));
            [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
          }
          // Several consumers apply at once, each delivery in its own transaction (like the inbox).
          const queues = Array.from({ length: lanes }, (_, lane) =>
            deliveries.filter((_, i) => i % lanes === lane),
          );
          await Promise.all(
            queues.map(async (queue) => {
              for (const delivery of queue) {
                await db.prisma.$transaction((tx) => synchronizer.apply(delivery.kind, delivery.change, tx));
              }
            }),
          );
          const copies = await db.prisma.orderProduct.findMany({ orderBy: { id: 'asc' } });
          expect(copies).toEqual([...rows.values()].sort((x, y) => x.id.localeCompare(y.id)));
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
});
