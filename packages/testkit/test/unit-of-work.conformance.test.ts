import { describeUnitOfWorkConformance } from '../src/index.js';
import { referenceUnitOfWork } from './helpers/reference-unit-of-work.js';

// The suite on the testkit's own reference unit of work; @herald/uow runs it on its real manager.
describeUnitOfWorkConformance({ name: 'reference (memory)', create: referenceUnitOfWork() });
