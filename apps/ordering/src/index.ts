import type { MongoServiceEnvironment, ServiceEnvironment } from '@herald/demo-kit';
import { createOrdering } from './ordering.js';
import { createMongoOrdering } from './ordering.mongo.js';

export { createOrdering } from './ordering.js';
export * from './ordering.mongo.js';

/** Ordering: the Prisma version on SQL databases, the MongoDB one for `--db mongodb`. */
export function createOrderingService(env: ServiceEnvironment | MongoServiceEnvironment) {
  return 'client' in env ? createMongoOrdering(env) : createOrdering(env);
}
