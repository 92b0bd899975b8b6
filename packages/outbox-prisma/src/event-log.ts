import {
  ConfigurationError,
  consoleLogger,
  type EventLog,
  type Logger,
  parseConnectionUrl,
  redactingLogger,
  secretsOfUrl,
} from '@herald/core';
import { assertProvider, Dialect } from './dialect.js';
import { PrismaInboxStore } from './inbox-store.js';
import { type MigrateResult, migrate } from './migrations.js';
import {
  DEFAULT_RELAY_POOL_SIZE,
  DEFAULT_TABLE_PREFIX,
  DEFAULT_TRANSACTION,
  type PrismaEventLogOptions,
  type StoreSettings,
  tableNames,
} from './options.js';
import { PrismaOutboxStore } from './outbox-store.js';
import { PgListener } from './pg-listener.js';
import { PgSqlClient } from './pg-sql-client.js';
import { assertPrismaClient, type PrismaClientLike } from './prisma-client.js';

/** The outbox and inbox of one database, plus its schema helper. */
export interface PrismaEventLog extends EventLog {
  /** The outbox store on the `<prefix>outbox` table. */
  readonly outbox: PrismaOutboxStore;
  /** The inbox store on the `<prefix>inbox` table. */
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
  const logger = options.logger ?? consoleLogger();
  const transaction = { ...DEFAULT_TRANSACTION, ...options.transaction };
  const relayPool = relayClient(options, transaction.maxWait, logger);
  const settings: StoreSettings = {
    prisma,
    reader: options.readClient ?? prisma,
    dialect: new Dialect(provider),
    provider,
    databaseName,
    names,
    transaction,
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
      logger: redactingLogger(logger, secretsOfUrl(url)),
      outboxDatabase: async () => {
        const rows = await prisma.$queryRawUnsafe<Array<{ name?: unknown }>>(
          'SELECT current_database() AS name',
        );
        return typeof rows[0]?.name === 'string' ? rows[0].name : undefined;
      },
    });
  }
  return {
    outbox: new PrismaOutboxStore(settings, { channel, listener }, relayPool),
    inbox: new PrismaInboxStore(settings),
    migrate: (extra) =>
      migrate(prisma, {
        provider,
        tablePrefix,
        ...(extra?.relayShards === undefined ? {} : { relayShards: extra.relayShards }),
      }),
  };
}

/** The relay's own pool when `relayConnection` asks for one (PostgreSQL only), checked up front. */
function relayClient(
  options: PrismaEventLogOptions,
  maxWait: number,
  logger: Logger,
): PgSqlClient | undefined {
  const relay = options.relayConnection;
  if (relay === undefined) return undefined;
  if (options.provider !== 'postgresql') {
    throw new ConfigurationError(
      `relayConnection is PostgreSQL only; ${options.provider} relays through the PrismaClient`,
    );
  }
  if (!relay || typeof relay !== 'object') {
    throw new ConfigurationError('relayConnection must be { connectionString, poolSize? }');
  }
  const url = parseConnectionUrl(relay.connectionString, {
    name: 'relayConnection.connectionString',
    protocols: ['postgres', 'postgresql'],
  });
  const poolSize = relay.poolSize ?? DEFAULT_RELAY_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new ConfigurationError(
      `relayConnection.poolSize must be a positive integer, got ${String(poolSize)}`,
    );
  }
  return new PgSqlClient({
    connectionString: relay.connectionString,
    poolSize,
    maxWait,
    logger: redactingLogger(logger, secretsOfUrl(url)),
    option: 'relayConnection',
  });
}
