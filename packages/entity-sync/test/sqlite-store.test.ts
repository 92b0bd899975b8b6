import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EntitySynchronizer, entityEvents } from '../src/index.js';
import { prismaEntityStore, versionLedgerSql } from '../src/prisma/index.js';
import { PrismaClient } from './generated/sqlite/client/client.js';
import {
  deliveriesOf,
  lanesOf,
  opArbitrary,
  type Product,
  runSource,
  sortedRows,
} from './helpers/source-model.js';

/* prismaEntityStore's SQLite dialect (ON CONFLICT … DO UPDATE … WHERE … RETURNING) on a file database. */

const ProductEvents = entityEvents<Product>('catalog.product');
const dir = mkdtempSync(join(tmpdir(), 'herald-entity-sync-'));
let prisma: PrismaClient;

beforeAll(async () => {
  prisma = new PrismaClient({
    adapter: new PrismaLibSql({ url: `file:${join(dir, 'test.db')}`, timeout: 5000 }),
  });
  await prisma.$executeRawUnsafe(
    'CREATE TABLE IF NOT EXISTS "order_products" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "price" INTEGER NOT NULL)',
  );
  await prisma.$executeRawUnsafe(versionLedgerSql('sqlite'));
});
afterAll(async () => {
  await prisma?.$disconnect();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await prisma.$executeRawUnsafe('DELETE FROM "order_products"');
  await prisma.$executeRawUnsafe('DELETE FROM "herald_entity_versions"');
});

describe('prismaEntityStore on SQLite', () => {
  it('writes only newer versions, keeps tombstones, and applies unversioned changes', async () => {
    const store = prismaEntityStore<Product>(prisma, { provider: 'sqlite', model: 'OrderProduct' });
    const row = (price: number) => ({ id: 'p1', name: 'Pen', price });
    await store.put('p1', row(3), 3, undefined);
    await store.put('p1', row(1), 1, undefined);
    await store.put('p1', row(33), 3, undefined);
    expect(await prisma.orderProduct.findMany()).toEqual([row(3)]);
    await store.remove('p1', 4, undefined);
    await store.put('p1', row(2), 2, undefined);
    expect(await prisma.orderProduct.findMany()).toEqual([]);
    expect(await store.get('p1', undefined)).toMatchObject({ deleted: true, version: 4 });
    await store.put('p1', row(5), 5, undefined);
    await store.put('p1', row(9), undefined, undefined);
    expect(await prisma.orderProduct.findMany()).toEqual([row(9)]);
    expect(await store.get('p1', undefined)).toMatchObject({ deleted: false, version: undefined });
    expect(await store.keys(undefined)).toEqual(['p1']);
  });

  it('a synchronizer converges under shuffled, duplicated, out-of-order and concurrent delivery (property)', async () => {
    const store = prismaEntityStore<Product>(prisma, { provider: 'sqlite', model: 'OrderProduct' });
    const synchronizer = new EntitySynchronizer({ events: ProductEvents, store });
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        fc.integer({ min: 1, max: 3 }),
        async (ops, duplicates, randomness, lanes) => {
          await prisma.$executeRawUnsafe('DELETE FROM "order_products"');
          await prisma.$executeRawUnsafe('DELETE FROM "herald_entity_versions"');
          const { rows, emitted } = runSource(ops);
          await Promise.all(
            lanesOf(deliveriesOf(emitted, duplicates, randomness), lanes).map(async (queue) => {
              for (const delivery of queue) {
                await prisma.$transaction((tx) => synchronizer.apply(delivery.kind, delivery.change, tx));
              }
            }),
          );
          expect(await prisma.orderProduct.findMany({ orderBy: { id: 'asc' } })).toEqual(sortedRows(rows));
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
});
