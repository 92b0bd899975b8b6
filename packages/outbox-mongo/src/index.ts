/**
 * `@herald/outbox-mongo`: Herald's outbox and inbox stores on MongoDB.
 *
 * @packageDocumentation
 */

export type { WakeState } from './change-stream-wake.js';
export type { CollectionNames } from './documents.js';
export { MongoTransactionsUnavailableError } from './errors.js';
export { type MongoEventLog, mongoEventLog } from './event-log.js';
export type { MongoInboxStore } from './inbox-store.js';
export type { MongoEventLogOptions } from './options.js';
export type { MongoOutboxStore } from './outbox-store.js';
export type { ServerInfo } from './server.js';
export type { TransactionMode } from './sessions.js';
