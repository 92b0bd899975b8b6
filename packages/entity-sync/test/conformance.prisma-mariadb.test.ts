import { describeLocalEntityStoreConformance } from '@herald/testkit';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { afterAll, beforeAll } from 'vitest';
import { prismaEntityStore, versionLedgerSql } from '../src/prisma/index.js';
import { PrismaClient } from './generated/mysql/client/client.js';

/*
 * The testkit's LocalEntityStore suite on prismaEntityStore over MariaDB (HERALD_MARIADB_URL, from
 * `tooling/services/up.sh mariadb`; the ledger's INSERT IGNORE + SELECT … FOR UPDATE dialect). The
 * tests own the database `herald_entity_sync` (created on first use).
 */
const MARIADB_URL = (process.env.HERALD_MARIADB_URL ?? 'mysql://herald:herald@127.0.0.1:3306/herald').replace(
  /^mysql:/,
  'mariadb:',
);
const TEST_DATABASE = 'herald_entity_sync';
let prisma: PrismaClient;

beforeAll(async () => {
  const admin = new PrismaClient({ adapter: new PrismaMariaDb(MARIADB_URL) });
  try {
    await admin.$executeRawUnsafe(`CREATE DATABASE IF NOT EXISTS \`${TEST_DATABASE}\``);
  } catch (error) {
    throw new Error(
      `MariaDB is not reachable (${(error as Error).message}). Start it with: bash tooling/services/up.sh mariadb`,
    );
  } finally {
    await admin.$disconnect();
  }
  const url = new URL(MARIADB_URL);
  url.pathname = `/${TEST_DATABASE}`;
  prisma = new PrismaClient({ adapter: new PrismaMariaDb(url.toString()) });
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
