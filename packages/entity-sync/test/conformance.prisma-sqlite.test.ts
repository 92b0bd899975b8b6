import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLocalEntityStoreConformance } from '@herald/testkit';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { afterAll, beforeAll } from 'vitest';
import { prismaEntityStore, versionLedgerSql } from '../src/prisma/index.js';
import { PrismaClient } from './generated/sqlite/client/client.js';

// The testkit's LocalEntityStore suite on prismaEntityStore over SQLite (a file database of its own).
const dir = mkdtempSync(join(tmpdir(), 'herald-entity-sync-conformance-'));
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

describeLocalEntityStoreConformance<{ id: string; name: string; price: number }>({
  name: 'prismaEntityStore on SQLite',
  create: async () => {
    await prisma.$executeRawUnsafe('DELETE FROM "order_products"');
    await prisma.$executeRawUnsafe('DELETE FROM "herald_entity_versions"');
    return {
      store: prismaEntityStore(prisma, { provider: 'sqlite', model: 'OrderProduct' }),
      transaction: (work) => prisma.$transaction((tx) => work(tx)),
      entity: (id, revision) => ({ id, name: `revision ${revision}`, price: revision }),
    };
  },
});
