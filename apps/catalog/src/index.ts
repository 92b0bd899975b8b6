import type { MongoServiceEnvironment, ServiceEnvironment } from '@herald/demo-kit';
import { createCatalog } from './catalog.js';
import { createMongoCatalog } from './catalog.mongo.js';

export { createCatalog } from './catalog.js';
export * from './catalog.mongo.js';

/** Catalog: the Prisma version on SQL databases, the MongoDB one for `--db mongodb`. */
export function createCatalogService(env: ServiceEnvironment | MongoServiceEnvironment) {
  return 'client' in env ? createMongoCatalog(env) : createCatalog(env);
}
