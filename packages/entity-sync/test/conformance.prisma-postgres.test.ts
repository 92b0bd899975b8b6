import { describeLocalEntityStoreConformance } from '@herald/testkit';
import { afterAll, beforeAll } from 'vitest';
import { prismaEntityStore } from '../src/prisma/index.js';
import { openPostgres, type Postgres } from './helpers/postgres.js';

// The testkit's LocalEntityStore suite on prismaEntityStore over PostgreSQL (the OrderProduct model).
let db: Postgres;
beforeAll(async () => {
  db = await openPostgres();
});
afterAll(async () => {
  await db?.close();
});

describeLocalEntityStoreConformance<{ id: string; name: string; price: number }>({
  name: 'prismaEntityStore on PostgreSQL',
  create: async () => {
    await db.prisma.$executeRawUnsafe('TRUNCATE "order_products", "herald_entity_versions"');
    return {
      store: prismaEntityStore(db.prisma, { provider: 'postgresql', model: 'OrderProduct' }),
      transaction: (work) => db.prisma.$transaction((tx) => work(tx)),
      entity: (id, revision) => ({ id, name: `revision ${revision}`, price: revision }),
    };
  },
});
