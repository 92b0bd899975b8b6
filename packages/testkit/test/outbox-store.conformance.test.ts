import { MemoryDatabase, MemoryOutboxStore } from '@herald/core';
import { describeOutboxStoreConformance } from '../src/index.js';

describeOutboxStoreConformance({
  name: 'memory',
  create: async () => {
    const database = new MemoryDatabase();
    return { store: new MemoryOutboxStore({ database }), transaction: (work) => database.transaction(work) };
  },
});
