import { describeLocalEntityStoreConformance } from '../src/index.js';
import { referenceEntityStore } from './helpers/reference-entity-store.js';

// The suite on the testkit's own reference store; entity-sync runs it on its real stores.
describeLocalEntityStoreConformance({ name: 'reference (memory)', create: referenceEntityStore() });
