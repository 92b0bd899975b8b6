import { MemoryDatabase } from '@herald/core';
import { describeLocalEntityStoreConformance } from '@herald/testkit';
import { MemoryEntityStore } from '../src/index.js';

// The testkit's LocalEntityStore suite on MemoryEntityStore (Prisma and MongoDB: the sibling files).
describeLocalEntityStoreConformance<{ id: string; revision: number }>({
  name: 'MemoryEntityStore',
  create: async () => {
    const database = new MemoryDatabase();
    return {
      store: new MemoryEntityStore(database, 'order_products'),
      transaction: (work) => database.transaction(work),
      entity: (id, revision) => ({ id, revision }),
    };
  },
});
