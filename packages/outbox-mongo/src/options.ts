import { ConfigurationError, consoleLogger, type Logger, redactingLogger } from '@herald/core';
import type { Db, MongoClient } from 'mongodb';
import type { CollectionNames } from './documents.js';
import type { TransactionMode } from './sessions.js';

/** Options of {@link mongoEventLog}. */
export interface MongoEventLogOptions {
  /** Name of the database holding Herald's collections (usually your application's database). */
  db: string;
  /** Collection names; default `herald_outbox` and `herald_inbox`. */
  collections?: {
    /** The outbox collection. Default `herald_outbox`. */
    outbox?: string;
    /** The inbox collection (must differ from the outbox's). Default `herald_inbox`. */
    inbox?: string;
  };
  /**
   * `'required'` (default): events are written with your transaction's
   * `ClientSession` and commit with your data; the inbox runs handlers in a
   * transaction. Needs a replica set or a sharded cluster: `init()` throws
   * `MongoTransactionsUnavailableError` on a standalone server or FerretDB.
   *
   * `'off'`: an explicit opt-out for servers without transactions. Records
   * are written on their own (`publish` cannot take `{ tx }`), so an event can
   * be stored although your business write failed, or the reverse; the inbox
   * still absorbs duplicates, but a crash between a handler and its inbox
   * write repeats the handler.
   */
  transactions?: 'required' | 'off';
  /**
   * `'auto'` (default): wake the relay through a change stream on the outbox
   * collection when the server has change streams (replica sets), polling
   * otherwise. `'off'`: always poll (`pollingInterval`).
   */
  changeStreams?: 'auto' | 'off';
  /**
   * Identity of this database (ABP's DatabaseName): part of lock keys, and how
   * core knows that a handler's `ctx.tx` can also write this outbox. Default:
   * the `db` name.
   */
  databaseName?: string;
  /** Where change-stream trouble is logged. Default: core's console logger. */
  logger?: Logger;
}

const COLLECTION_NAME = /^(?!system\.)[^$\0]{1,200}$/;

/** Resolved settings of one event log (see `mongoEventLog`). */
export interface MongoEventLogSettings {
  readonly client: MongoClient;
  readonly db: Db;
  readonly collections: CollectionNames;
  readonly transactions: TransactionMode;
  readonly changeStreams: 'auto' | 'off';
  readonly databaseName: string;
  readonly logger: Logger;
  /** The client's password, redacted from errors Herald hands on. */
  readonly secrets: readonly string[];
}

/** Checks the options (`ConfigurationError` naming the bad one) and applies the defaults. */
export function resolveSettings(client: MongoClient, options: MongoEventLogOptions): MongoEventLogSettings {
  if (!client || typeof (client as Partial<MongoClient>).db !== 'function') {
    throw new ConfigurationError(
      'mongoEventLog(client, options) expects a MongoClient from the mongodb package',
    );
  }
  if (!options || typeof options.db !== 'string' || options.db.length === 0) {
    throw new ConfigurationError('mongoEventLog(client, { db }) needs the name of the database to use');
  }
  const transactions = options.transactions ?? 'required';
  if (transactions !== 'required' && transactions !== 'off') {
    throw new ConfigurationError(`transactions must be 'required' or 'off', got ${String(transactions)}`);
  }
  const changeStreams = options.changeStreams ?? 'auto';
  if (changeStreams !== 'auto' && changeStreams !== 'off') {
    throw new ConfigurationError(`changeStreams must be 'auto' or 'off', got ${String(changeStreams)}`);
  }
  const collections = {
    outbox: options.collections?.outbox ?? 'herald_outbox',
    inbox: options.collections?.inbox ?? 'herald_inbox',
  };
  for (const name of [collections.outbox, collections.inbox]) {
    if (typeof name !== 'string' || !COLLECTION_NAME.test(name)) {
      throw new ConfigurationError(`"${String(name)}" is not a usable collection name`);
    }
  }
  if (collections.outbox === collections.inbox) {
    throw new ConfigurationError('The outbox and the inbox need two different collections');
  }
  const databaseName = options.databaseName ?? options.db;
  if (typeof databaseName !== 'string' || databaseName.length === 0) {
    throw new ConfigurationError('databaseName must be a non-empty string');
  }
  return {
    client,
    db: client.db(options.db),
    collections,
    transactions,
    changeStreams,
    databaseName,
    logger: redactingLogger(options.logger ?? consoleLogger(), secretsOfClient(client)),
    secrets: secretsOfClient(client),
  };
}

/** The password the client was given (in its URL or options), for literal redaction. */
function secretsOfClient(client: MongoClient): string[] {
  const password = (client.options as { credentials?: { password?: unknown } } | undefined)?.credentials
    ?.password;
  return typeof password === 'string' && password.length > 0 ? [password] : [];
}
