import { MemoryDatabase, type MemoryTransaction, silentLogger } from '@herald/core';
import { describeUnitOfWorkConformance } from '@herald/testkit';
import { createUnitOfWorkManager } from '../src/index.js';

// The testkit's UnitOfWorkAccessor suite on the real manager, over core's memory database transactions.
describeUnitOfWorkConformance({
  name: 'createUnitOfWorkManager on a MemoryDatabase',
  create: async () => {
    const database = new MemoryDatabase();
    const manager = createUnitOfWorkManager({
      transaction: database.transaction.bind(database),
      logger: silentLogger,
    });
    return {
      accessor: manager,
      run: (work) => manager.run(work),
      write: async (tx, key) => (tx as MemoryTransaction).put('markers', key, true),
      committed: async (key) => database.get('markers', key) !== undefined,
    };
  },
});
