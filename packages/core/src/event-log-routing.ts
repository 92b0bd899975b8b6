import type { EventLogConfig } from './event-log.js';

/**
 * Database per tenant: among the event logs that accept an event or a
 * handler, the one listing the tenant serves it; a tenant no log lists (and
 * the host, without a tenant) goes to the first log that lists no tenants.
 */
export function routeByTenant(
  candidates: readonly EventLogConfig[],
  tenantId: string | undefined,
): EventLogConfig | undefined {
  if (tenantId !== undefined) {
    const own = candidates.find((config) => config.tenants?.has(tenantId));
    if (own) return own;
  }
  return candidates.find((config) => config.tenants === undefined);
}
