import type { ServiceEnvironment } from '../config.js';
import type { ServiceName } from '../contracts.js';
import { createCatalog } from './catalog.js';
import { createNotification } from './notification.js';
import { createOrdering } from './ordering.js';

export { createCatalog, createNotification, createOrdering };

/** A running demo service: its bus and the business operations the workload calls. */
export type DemoService = ReturnType<
  typeof createCatalog | typeof createOrdering | typeof createNotification
>;

/** Creates one service by name. */
export function createService(name: ServiceName, env: ServiceEnvironment): DemoService {
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
