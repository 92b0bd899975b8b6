import { MemoryLock } from '@herald/core';
import { beforeEach } from 'vitest';
import { describeLockConformance } from '../src/index.js';

// Both clients of a case are the same in-memory lock: one "backend" per test.
let lock = new MemoryLock();
beforeEach(() => {
  lock = new MemoryLock();
});

describeLockConformance({ name: 'memory', create: async () => lock });
