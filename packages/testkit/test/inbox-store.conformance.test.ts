import { MemoryInboxStore } from '@herald/core';
import { describeInboxStoreConformance } from '../src/index.js';

describeInboxStoreConformance({
  name: 'memory',
  create: async () => ({ store: new MemoryInboxStore() }),
});
