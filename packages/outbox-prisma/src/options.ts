import { ConfigurationError, type Logger } from '@herald/core';
import type { Dialect, Provider } from './dialect.js';
import type { PrismaClientLike, TransactionOptions } from './prisma-client.js';

/** Default table prefix: `herald_outbox`, `herald_inbox`, `herald_migrations`. */
export const DEFAULT_TABLE_PREFIX = 'herald_';

const PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

/** Table names derived from a prefix (validated: they are put into SQL text). */
export interface TableNames {
  readonly outbox: string;
  readonly inbox: string;
  readonly migrations: string;
  /** Newest fencing token seen per relay lock. */
  readonly fences: string;
}

export function tableNames(prefix: string = DEFAULT_TABLE_PREFIX): TableNames {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new ConfigurationError(
      `tablePrefix must be letters, digits and "_" (not starting with a digit, at most 41 characters), got ${String(prefix)}`,
    );
  }
  return {
    outbox: `${prefix}outbox`,
    inbox: `${prefix}inbox`,
    migrations: `${prefix}migrations`,
    fences: `${prefix}fences`,
  };
}

/** What both stores share: the clients, the dialect and the names. */
export interface StoreSettings {
  /** The user's client: transactions and writes. */
  readonly prisma: PrismaClientLike;
  /** Where read-only statements go (the user's client unless `readClient` was given). */
  readonly reader: PrismaClientLike;
  readonly dialect: Dialect;
  readonly provider: Provider;
  readonly databaseName: string;
  readonly names: TableNames;
  readonly transaction: Required<TransactionOptions>;
}

/** Connections of the relay's own pool (`relayConnection`), as `pg`'s default. */
export const DEFAULT_RELAY_POOL_SIZE = 10;

export const DEFAULT_TRANSACTION: Required<TransactionOptions> = { maxWait: 10_000, timeout: 60_000 };

/** PostgreSQL `LISTEN/NOTIFY` wake-ups of the relay. */
export interface NotifyOptions {
  /**
   * Connection string for a dedicated `pg` connection that `LISTEN`s, so this
   * process's relay wakes right after any process commits an event. Needs the
   * `pg` package (already installed with `@prisma/adapter-pg`). Without it the
   * store still sends notifications; other processes may listen.
   */
  connectionString?: string;
  /** Channel name; default: the outbox table name (`herald_outbox`). */
  channel?: string;
}

/** The relay's own `pg` pool (PostgreSQL). */
export interface RelayConnectionOptions {
  /** Connection string of the same database as your PrismaClient's. */
  connectionString: string;
  /**
   * Connections at most; each relay batch in flight holds one while the broker
   * confirms (two for an unsharded relay, one per shard a process holds);
   * idle ones close after 10 s. Default 10.
   */
  poolSize?: number;
}

/** Options of {@link prismaEventLog}. */
export interface PrismaEventLogOptions {
  /** The database behind the client (Prisma's provider name; MariaDB is `mysql`). */
  provider: Provider;
  /**
   * Identity of this database (ABP's DatabaseName): part of lock keys, and how
   * core knows that a handler's `ctx.tx` can also write this outbox. Give each
   * database its own name when a service uses several. Default: the provider.
   */
  databaseName?: string;
  /** Prefix of Herald's tables: `<prefix>outbox`, `<prefix>inbox`, `<prefix>migrations`. Default `herald_`. */
  tablePrefix?: string;
  /**
   * PostgreSQL only. By default every insert sends `NOTIFY <channel>` (delivered
   * at commit). Give `connectionString` to also listen; `false` turns both off.
   */
  notify?: NotifyOptions | false;
  /** Limits of the interactive transactions Herald opens (handler transactions, claims on MariaDB). */
  transaction?: TransactionOptions;
  /**
   * A second client on the same database for read-only statements (operator
   * listings, parked-key checks). Useful with SQLite: Prisma's SQLite adapter
   * runs one transaction at a time per client and queues every other
   * statement behind it. Never a replica: the reads must be current.
   */
  readClient?: PrismaClientLike;
  /**
   * PostgreSQL only: the relay claims and marks on a small `pg` pool of its own
   * instead of your PrismaClient. Its statements then never wait behind your
   * application's transactions for a pooled connection, and skip Prisma's
   * per-statement work (see the README for the figures). Needs the `pg`
   * package. Recommended for a service that relays on PostgreSQL.
   */
  relayConnection?: RelayConnectionOptions;
  /** Where LISTEN connection trouble is logged. Default: core's console logger. */
  logger?: Logger;
}
