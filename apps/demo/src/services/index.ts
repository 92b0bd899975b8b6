import type { MongoServiceEnvironment, ServiceEnvironment } from '../config.js';
import type { ServiceName } from '../contracts.js';
import { createCatalog } from './catalog.js';
import { createMongoCatalog } from './catalog.mongo.js';
import { createNotification } from './notification.js';
import { createMongoNotification } from './notification.mongo.js';
import { createOrdering } from './ordering.js';
import { createMongoOrdering } from './ordering.mongo.js';

export {
  createCatalog,
  createMongoCatalog,
  createMongoNotification,
  createMongoOrdering,
  createNotification,
  createOrdering,
};

/** A running demo service: its bus and the business operations the workload calls. */
export type DemoService = ReturnType<
  | typeof createCatalog
  | typeof createOrdering
  | typeof createNotification
  | typeof createMongoCatalog
  | typeof createMongoOrdering
  | typeof createMongoNotification
>;

/** Creates one service by name: the Prisma version (SQL databases) or the MongoDB one (`--db mongodb`). */
export function createService(
  name: ServiceName,
  env: ServiceEnvironment | MongoServiceEnvironment,
): DemoService {
  if ('client' in env) {
    switch (name) {
      case 'catalog':
        return createMongoCatalog(env);
      case 'ordering':
        return createMongoOrdering(env);
      case 'notification':
        return createMongoNotification(env);
    }
  }
  switch (name) {
    case 'catalog':
      return createCatalog(env);
    case 'ordering':
      return createOrdering(env);
    case 'notification':
      return createNotification(env);
  }
}

/** Calls a business operation by name (how the driver reaches a service, in process or over IPC). */
export async function invoke(service: DemoService, op: string, args: readonly unknown[]): Promise<unknown> {
  const operation = (service.operations as Record<string, (...args: unknown[]) => Promise<unknown>>)[op];
  if (!operation) throw new Error(`${service.name} has no operation "${op}"`);
  return operation(...args);
}
