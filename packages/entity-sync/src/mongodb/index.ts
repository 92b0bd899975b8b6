/**
 * `@herald/entity-sync/mongodb`: entity events for writes made through the
 * official MongoDB driver, and local copies in a collection. Needs `mongodb`
 * 6 (an optional peer dependency of the package).
 */
export { EntityEventsTransactionError, EntityEventsUnsupportedError } from '../errors.js';
export type {
  MongoEntityEvents,
  MongoEntityEventsOptions,
  MongoVersioningOptions,
} from './mongo-entity-events.js';
export { mongoEntityEvents } from './mongo-entity-events.js';
export type { LocalCopyDocument } from './mongo-entity-store.js';
export { MongoEntityStore, mongoEntityStore } from './mongo-entity-store.js';
