import {
  ConfigurationError,
  consoleLogger,
  type EventLog,
  type Logger,
  parseConnectionUrl,
  redactingLogger,
  secretsOfUrl,
} from '@herald/core';
import { type MigrateResult, migrate } from './migrate.js';
import { PgListener } from './pg-listener.js';
import { assertPrismaClient, type PrismaClientLike, type TransactionOptions } from './prisma-client.js';
import { PrismaInboxStore } from './prisma-inbox-store.js';
import { PrismaOutboxStore } from './prisma-outbox-store.js';
import { DEFAULT_TABLE_PREFIX, DEFAULT_TRANSACTION, type StoreSettings, tableNames } from './settings.js';
import { assertProvider, Dialect, type Provider } from './sql.js';

export type { MigrateOptions, MigrateResult, Migration } from './migrate.js';
export { migrate, migrations } from './migrate.js';
export type { PrismaClientLike, TransactionOptions } from './prisma-client.js';
export { PrismaInboxStore } from './prisma-inbox-store.js';
export { PrismaOutboxStore } from './prisma-outbox-store.js';
export type { Provider } from './sql.js';

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
  /** Where LISTEN connection trouble is logged. Default: core's console logger. */
  logger?: Logger;
}

/** The outbox and inbox of one database, plus its schema helper. */
export interface PrismaEventLog extends EventLog {
  readonly outbox: PrismaOutboxStore;
  readonly inbox: PrismaInboxStore;
  /**
   * Applies the shipped migrations with this client (see {@link migrate});
   * `relayShards`: also the per-shard claim index (see `MigrateOptions`).
   */
  migrate(options?: { relayShards?: number }): Promise<MigrateResult>;
}

/**
 * Herald's outbox and inbox in your own database, through your own Prisma 7
 * client (any generated client with a driver adapter). Publish with
 * `{ tx }` inside `prisma.$transaction(async (tx) => …)`, or inside a
 * `@herald/uow` unit of work, and the event commits with your data.
 *
 * ```ts
 * const log = prismaEventLog(prisma, { provider: 'postgresql', notify: { connectionString: url } });
 * await log.migrate();
 * const bus = createIntegrationEventBus({ service: 'ordering' }).useEventLog(log).build();
 * ```
 */
export function prismaEventLog(prisma: PrismaClientLike, options: PrismaEventLogOptions): PrismaEventLog {
  assertPrismaClient(prisma, 'prismaEventLog()');
  if (!options || typeof options !== 'object') {
    throw new ConfigurationError(
      "prismaEventLog(prisma, { provider }) needs options, e.g. { provider: 'postgresql' }",
    );
  }
  assertProvider(options.provider);
  const provider = options.provider;
  const tablePrefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
  const names = tableNames(tablePrefix);
  if (options.readClient !== undefined) assertPrismaClient(options.readClient, 'readClient');
  const databaseName = options.databaseName ?? provider;
  if (typeof databaseName !== 'string' || databaseName.length === 0) {
    throw new ConfigurationError('databaseName must be a non-empty string');
  }
  const settings: StoreSettings = {
    prisma,
    reader: options.readClient ?? prisma,
    dialect: new Dialect(provider),
    provider,
    databaseName,
    names,
    transaction: { ...DEFAULT_TRANSACTION, ...options.transaction },
  };
  const notify = options.notify;
  if (notify && provider !== 'postgresql') {
    throw new ConfigurationError(`notify is PostgreSQL only (LISTEN/NOTIFY); ${provider} relies on polling`);
  }
  const channel =
    provider === 'postgresql' && notify !== false ? (notify?.channel ?? names.outbox) : undefined;
  if (channel !== undefined && !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(channel)) {
    throw new ConfigurationError(`notify.channel must be a PostgreSQL identifier, got ${channel}`);
  }
  let listener: PgListener | undefined;
  if (notify && notify.connectionString !== undefined) {
    // Checked up front: a typo fails here, naming the problem but not the password.
    const url = parseConnectionUrl(notify.connectionString, {
      name: 'notify.connectionString',
      protocols: ['postgres', 'postgresql'],
    });
    listener = new PgListener({
      connectionString: notify.connectionString,
      channel: channel!,
      logger: redactingLogger(options.logger ?? consoleLogger(), secretsOfUrl(url)),
    });
  }
  return {
    outbox: new PrismaOutboxStore(settings, { channel, listener }),
    inbox: new PrismaInboxStore(settings),
    migrate: (extra) =>
      migrate(prisma, {
        provider,
        tablePrefix,
        ...(extra?.relayShards === undefined ? {} : { relayShards: extra.relayShards }),
      }),
  };
}
