import type { MongoServiceEnvironment, ServiceEnvironment } from '@herald/demo-kit';
import { createNotification } from './notification.js';
import { createMongoNotification } from './notification.mongo.js';

export { createNotification } from './notification.js';
export * from './notification.mongo.js';

/** Notification: the Prisma version on SQL databases, the MongoDB one for `--db mongodb`. */
export function createNotificationService(env: ServiceEnvironment | MongoServiceEnvironment) {
  return 'client' in env ? createMongoNotification(env) : createNotification(env);
}
