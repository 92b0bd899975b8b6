import { describeLocalEntityStoreConformance } from '@herald/testkit';
import { mariadbServerUrl, mariadbTestDatabase } from '@herald/testkit/engines';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { afterAll, beforeAll } from 'vitest';
import { prismaEntityStore, versionLedgerSql } from '../src/prisma/index.js';
import { PrismaClient } from './generated/mysql/client/client.js';

/*
 * The testkit's LocalEntityStore suite on prismaEntityStore over MariaDB (HERALD_MARIADB_URL, from
 * `tooling/services/up.sh mariadb`; the ledger's INSERT IGNORE + SELECT … FOR UPDATE dialect). The
 * tests own the database `herald_entity_sync` (created on first use, namespaced by HERALD_TEST_NAMESPACE).
 */
const TEST_DATABASE = 'herald_entity_sync';
let prisma: PrismaClient;

beforeAll(async () => {
  const { url } = await mariadbTestDatabase(
    TEST_DATABASE,
    (at) => new PrismaClient({ adapter: new PrismaMariaDb(at) }),
    mariadbServerUrl().replace(/^mysql:/, 'mariadb:'),
  );
  prisma = new PrismaClient({ adapter: new PrismaMariaDb(url) });
  await prisma.$executeRawUnsafe(
    'CREATE TABLE IF NOT EXISTS `order_products` (`id` VARCHAR(191) PRIMARY KEY, `name` TEXT NOT NULL, `price` INT NOT NULL)',
  );
  await prisma.$executeRawUnsafe(versionLedgerSql('mysql'));
});
afterAll(async () => {
  await prisma?.$disconnect();
});

describeLocalEntityStoreConformance<{ id: string; name: string; price: number }>({
  name: 'prismaEntityStore on MariaDB',
  create: async () => {
    await prisma.$executeRawUnsafe('DELETE FROM `order_products`');
    await prisma.$executeRawUnsafe('DELETE FROM `herald_entity_versions`');
    return {
      store: prismaEntityStore(prisma, { provider: 'mysql', model: 'OrderProduct' }),
      transaction: (work) => prisma.$transaction((tx) => work(tx)),
      entity: (id, revision) => ({ id, name: `revision ${revision}`, price: revision }),
    };
  },
});
