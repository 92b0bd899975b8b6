import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createCatalogService } from '@herald/demo-catalog';
import type { MongoServiceEnvironment, ServiceEnvironment, ServiceName } from '@herald/demo-kit';
import { createNotificationService } from '@herald/demo-notification';
import { createOrderingService } from '@herald/demo-ordering';

export { invoke } from '@herald/demo-kit';

/** A running demo service: its bus and the business operations the workload calls. */
export type DemoService = ReturnType<
  typeof createCatalogService | typeof createOrderingService | typeof createNotificationService
>;

/** Creates one service by name, from its own app (apps/catalog, apps/ordering, apps/notification). */
export function createService(
  name: ServiceName,
  env: ServiceEnvironment | MongoServiceEnvironment,
): DemoService {
  switch (name) {
    case 'catalog':
      return createCatalogService(env);
    case 'ordering':
      return createOrderingService(env);
    case 'notification':
      return createNotificationService(env);
  }
}

const require = createRequire(import.meta.url);

/** The entry of a service's own process: `dist/main.js` of its app. */
export function serviceEntry(name: ServiceName): string {
  return join(dirname(require.resolve(`@herald/demo-${name}/package.json`)), 'dist', 'main.js');
}
