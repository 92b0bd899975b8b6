/**
 * `@herald/outbox-prisma`: Herald's outbox and inbox stores on PostgreSQL,
 * MariaDB/MySQL and SQLite through your Prisma client.
 *
 * @packageDocumentation
 */

export type { Provider } from './dialect.js';
export { type PrismaEventLog, prismaEventLog } from './event-log.js';
export type { PrismaInboxStore } from './inbox-store.js';
export type { MigrateOptions, MigrateResult, Migration } from './migrations.js';
export { migrate, migrations } from './migrations.js';
export type { NotifyOptions, PrismaEventLogOptions, RelayConnectionOptions } from './options.js';
export type { PrismaOutboxStore } from './outbox-store.js';
export type { PrismaClientLike, TransactionOptions } from './prisma-client.js';
