/**
 * `@herald/entity-sync/prisma`: entity events captured by a Prisma 7 client
 * extension, local copies in a Prisma model, snapshots served from a model.
 * Needs `@prisma/client` 7 (an optional peer dependency of the package).
 */
export {
  EntityEventsConflictError,
  EntityEventsTransactionError,
  EntityEventsUnsupportedError,
} from '../errors.js';
export type {
  EntityEventsExtension,
  PrismaEntityEventsOptions,
  VersioningOptions,
} from './prisma-entity-events.js';
export { heraldEntityEvents } from './prisma-entity-events.js';
export type { PrismaClientLike, PrismaEntityStoreOptions } from './prisma-entity-store.js';
export { PrismaEntityStore, prismaEntityStore } from './prisma-entity-store.js';
export type { FindManyDelegate, PrismaSnapshotSourceOptions } from './prisma-snapshot-source.js';
export { prismaSnapshotSource } from './prisma-snapshot-source.js';
export type { LedgerProvider } from './version-ledger.js';

import { type LedgerProvider, VersionLedger } from './version-ledger.js';

/** The `CREATE TABLE IF NOT EXISTS` of the version ledger, for your own migration tool. */
export function versionLedgerSql(provider: LedgerProvider, table = 'herald_entity_versions'): string {
  return new VersionLedger(provider, table).createTableSql();
}
