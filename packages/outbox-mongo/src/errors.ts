import { HeraldError } from '@herald/core';
import type { ServerInfo } from './server.js';

/**
 * `transactions: 'required'` was configured, but the server cannot run
 * multi-document transactions: a standalone `mongod`, or a MongoDB-compatible
 * server without them (FerretDB 1.x). Thrown by `eventLog.init()` and by the
 * first store operation.
 */
export class MongoTransactionsUnavailableError extends HeraldError {
  /** What the server said about itself. */
  readonly server: ServerInfo;

  constructor(server: ServerInfo) {
    const what = server.ferretDbVersion
      ? `FerretDB ${server.ferretDbVersion}, which has no multi-document transactions`
      : `a standalone MongoDB server (version ${server.version ?? 'unknown'}, no replica set)`;
    super(
      'HERALD_MONGO_NO_TRANSACTIONS',
      `The event log needs multi-document transactions, but the server is ${what}. ` +
        'Run MongoDB as a replica set (a single-node replica set is enough: `mongod --replSet rs0`, then ' +
        '`rs.initiate()`) or connect to a sharded cluster; or, knowing that events then no longer commit ' +
        "atomically with your business data, opt out with mongoEventLog(client, { transactions: 'off' }).",
    );
    this.server = server;
  }
}

/** MongoDB's duplicate-key error code (also FerretDB's, for any unique index). */
export const DUPLICATE_KEY = 11000;

/** True for a duplicate-key error from a single write. */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}
