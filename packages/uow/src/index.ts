export { UnitOfWorkCompletionLoopError, UnitOfWorkStateError } from './errors.js';
export type {
  RunOptions,
  TransactionRunner,
  UnitOfWorkManager,
  UnitOfWorkManagerOptions,
} from './manager.js';
export { createUnitOfWorkManager } from './manager.js';
export type { UnitOfWork, UnitOfWorkState } from './unit-of-work.js';
export type { UnitOfWorkWrapper } from './with-unit-of-work.js';
export { withUnitOfWork } from './with-unit-of-work.js';
