import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@herald/core';
import { versionLedgerSql } from '@herald/entity-sync/prisma';
import { type MongoEventLogOptions, mongoEventLog } from '@herald/outbox-mongo';
import { migrate, type Provider } from '@herald/outbox-prisma';
import { type Db, MongoClient } from 'mongodb';
import type { DemoConfig } from './config.js';
import type { ServiceName } from './contracts.js';
import type { PrismaClient as PostgresClient } from './generated/postgresql/client/client.js';

export type { ProductCopy } from './generated/postgresql/client/client.js';

/**
 * The demo's Prisma client. One client is generated per engine (src/generated/<provider>);
 * they have the same models and the same API, so the services are typed against one of them.
 */
export type DemoPrisma = PostgresClient;
/** The `tx` of `prisma.$transaction(async (tx) => …)`, which is also a handler's `ctx.tx`. */
export type DemoTx = Parameters<Parameters<DemoPrisma['$transaction']>[0]>[0];

/** A service's database, opened: through Prisma (SQLite, PostgreSQL, MariaDB) or MongoDB. */
export type OpenDatabase = PrismaDatabase | MongoDatabase;

/** A service's SQL database, opened with its Prisma client. */
export interface PrismaDatabase {
  readonly kind: 'prisma';
  readonly provider: Provider;
  readonly name: string;
  readonly prisma: DemoPrisma;
  /** SQLite: a second connection for Herald's read-only statements (see `readClient`). */
  readonly readClient: DemoPrisma | undefined;
  /** PostgreSQL: the database's URL, for the relay's own connections (LISTEN, `relayConnection`). */
  readonly url?: string;
  close(): Promise<void>;
}

/** `--db mongodb`: a service's own database on the MongoDB server (FerretDB locally). */
export interface MongoDatabase {
  readonly kind: 'mongodb';
  readonly name: string;
  readonly client: MongoClient;
  readonly db: Db;
  close(): Promise<void>;
}

const PROVIDER: Record<Exclude<DemoConfig['db'], 'mongodb'>, Provider> = {
  sqlite: 'sqlite',
  postgres: 'postgresql',
  mariadb: 'mysql',
};

/**
 * `<namespace>_<service>`: one database per service. On MongoDB `<namespace>_<run>_<service>`:
 * the run's databases are dropped when it ends (a server shared by other runs keeps theirs).
 */
export function databaseName(config: DemoConfig, service: ServiceName): string {
  if (config.db === 'mongodb') return `${config.namespace}_${config.run}_${service}`;
  return `${config.namespace}_${service}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/** A clear error when an engine is down: what was tried and the command that starts it. */
export function unreachable(engine: string, url: string, service: string, error: unknown): Error {
  return new Error(
    `${engine} is not reachable at ${redact(url)} (${(error as Error).message}). ` +
      `Start it with: bash tooling/services/up.sh ${service}`,
  );
}

async function client(provider: Provider, url: string): Promise<DemoPrisma> {
  // Only the client of the chosen engine is loaded.
  switch (provider) {
    case 'sqlite': {
      const [{ PrismaClient }, { PrismaLibSql }] = await Promise.all([
        import('./generated/sqlite/client/client.js'),
        import('@prisma/adapter-libsql'),
      ]);
      return new PrismaClient({
        adapter: new PrismaLibSql({ url, timeout: 10_000 }),
      }) as unknown as DemoPrisma;
    }
    case 'postgresql': {
      const [{ PrismaClient }, { PrismaPg }] = await Promise.all([
        import('./generated/postgresql/client/client.js'),
        import('@prisma/adapter-pg'),
      ]);
      return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 5 }) });
    }
    case 'mysql': {
      const [{ PrismaClient }, { PrismaMariaDb }] = await Promise.all([
        import('./generated/mysql/client/client.js'),
        import('@prisma/adapter-mariadb'),
      ]);
      return new PrismaClient({
        adapter: new PrismaMariaDb(url.replace(/^mysql:/, 'mariadb:')),
      }) as unknown as DemoPrisma;
    }
  }
}

/**
 * A client of the MongoDB server. A small pool: FerretDB 1.24 serves each command with a
 * PostgreSQL connection from a pool of 50, shared by every client (and other runs).
 */
async function mongoClient(config: DemoConfig): Promise<MongoClient> {
  const client = new MongoClient(config.urls.mongodb, { maxPoolSize: 4, serverSelectionTimeoutMS: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    throw unreachable('MongoDB (FerretDB)', config.urls.mongodb, 'ferretdb', error);
  }
  return client;
}

/** Opens (does not create) a service's database. */
export async function openDatabase(config: DemoConfig, service: ServiceName): Promise<OpenDatabase> {
  const name = databaseName(config, service);
  if (config.db === 'mongodb') {
    const client = await mongoClient(config);
    return { kind: 'mongodb', name, client, db: client.db(name), close: () => client.close() };
  }
  const provider = PROVIDER[config.db];
  if (provider === 'sqlite') {
    const url = `file:${join(config.dataDir, `${service}.db`)}`;
    const prisma = await client(provider, url);
    const readClient = await client(provider, url);
    return {
      kind: 'prisma',
      provider,
      name,
      prisma,
      readClient,
      close: async () => {
        await Promise.allSettled([prisma.$disconnect(), readClient.$disconnect()]);
      },
    };
  }
  const base = provider === 'postgresql' ? config.urls.postgres : config.urls.mariadb;
  const url = withDatabase(base, name);
  const prisma = await client(provider, url);
  return {
    kind: 'prisma',
    provider,
    name,
    prisma,
    readClient: undefined,
    ...(provider === 'postgresql' ? { url } : {}),
    close: () => prisma.$disconnect(),
  };
}

/**
 * Creates a service's database afresh (dropping the previous run's), applies Herald's
 * migrations and creates the service's business tables. Run by the demo's driver before
 * any service starts.
 */
export async function prepareDatabase(config: DemoConfig, service: ServiceName): Promise<void> {
  if (config.db === 'mongodb') return prepareMongoDatabase(config, service);
  const provider = PROVIDER[config.db];
  const name = databaseName(config, service);
  if (provider === 'sqlite') {
    mkdirSync(config.dataDir, { recursive: true });
  } else {
    const base = provider === 'postgresql' ? config.urls.postgres : config.urls.mariadb;
    const admin = await client(provider, base);
    try {
      if (provider === 'postgresql') {
        await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.$executeRawUnsafe(`CREATE DATABASE "${name}"`);
      } else {
        await admin.$executeRawUnsafe(`DROP DATABASE IF EXISTS \`${name}\``);
        await admin.$executeRawUnsafe(
          `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
        );
      }
    } catch (error) {
      const engine = provider === 'postgresql' ? 'postgres' : 'mariadb';
      throw unreachable(provider === 'postgresql' ? 'PostgreSQL' : 'MariaDB', base, engine, error);
    } finally {
      await admin.$disconnect();
    }
  }
  await migrateDatabase(config, service);
}

/**
 * Creates what is missing in a service's database — Herald's outbox and inbox, the business
 * tables — and keeps what is there (idempotent): what a service started on its own
 * (`--migrate`, e.g. in a container) runs before its bus starts.
 */
export async function migrateDatabase(config: DemoConfig, service: ServiceName): Promise<void> {
  if (config.db === 'mongodb') {
    const database = (await openDatabase(config, service)) as MongoDatabase;
    try {
      await mongoEventLog(database.client, mongoEventLogOptions(database.name)).init();
    } finally {
      await database.close();
    }
    return;
  }
  const provider = PROVIDER[config.db];
  if (provider === 'sqlite') mkdirSync(config.dataDir, { recursive: true });
  const database = (await openDatabase(config, service)) as PrismaDatabase;
  try {
    // WAL: the relay's and the ledger's reads never wait for a writing transaction.
    if (provider === 'sqlite') await database.prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await migrate(database.prisma, { provider }); // Herald's outbox and inbox tables
    for (const statement of TABLES[service]) await database.prisma.$executeRawUnsafe(statement);
    // The version ledger of ordering's prismaEntityStore (versions and tombstones of the copies).
    if (service === 'ordering') await database.prisma.$executeRawUnsafe(versionLedgerSql(provider));
  } finally {
    await database.close();
  }
}

// The business tables, in SQL that PostgreSQL, MariaDB and SQLite all accept (the demo cannot
// run `prisma migrate` here: it would download a schema engine). prisma/demo.prisma maps them.
const HANDLER_EFFECTS = `CREATE TABLE IF NOT EXISTS handler_effects (
  id VARCHAR(64) PRIMARY KEY, message_id VARCHAR(64) NOT NULL, handler VARCHAR(191) NOT NULL,
  event_name VARCHAR(191) NOT NULL)`;

const TABLES: Record<ServiceName, string[]> = {
  catalog: [
    `CREATE TABLE IF NOT EXISTS products (
      id VARCHAR(64) PRIMARY KEY, name VARCHAR(191) NOT NULL, price DOUBLE PRECISION NOT NULL,
      units_sold INTEGER NOT NULL, version INTEGER NOT NULL)`,
    HANDLER_EFFECTS,
  ],
  ordering: [
    `CREATE TABLE IF NOT EXISTS product_copies (
      id VARCHAR(64) PRIMARY KEY, name VARCHAR(191) NOT NULL, price DOUBLE PRECISION NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS orders (
      id VARCHAR(64) PRIMARY KEY, product_id VARCHAR(64) NOT NULL, quantity INTEGER NOT NULL,
      total DOUBLE PRECISION NOT NULL, customer VARCHAR(191) NOT NULL)`,
    HANDLER_EFFECTS,
  ],
  notification: [
    `CREATE TABLE IF NOT EXISTS mails (
      id VARCHAR(64) PRIMARY KEY, order_id VARCHAR(64) NOT NULL, recipient VARCHAR(191) NOT NULL,
      subject VARCHAR(191) NOT NULL)`,
    HANDLER_EFFECTS,
  ],
};

/**
 * MongoDB: drops the service's database (a leftover of an interrupted run with the same name)
 * and creates Herald's collections and indexes. The business collections need no schema: every
 * document the services write has a natural unique `_id` (product id, order id, `<message id>:<handler>`).
 */
async function prepareMongoDatabase(config: DemoConfig, service: ServiceName): Promise<void> {
  const database = (await openDatabase(config, service)) as MongoDatabase;
  try {
    await database.db.dropDatabase();
    await mongoEventLog(database.client, mongoEventLogOptions(database.name)).init();
  } finally {
    await database.close();
  }
}

/** MongoDB: drops the run's databases at its end (unless --keep), as the SQLite files are removed. */
export async function dropMongoDatabases(
  config: DemoConfig,
  services: readonly ServiceName[],
): Promise<void> {
  const client = await mongoClient(config);
  try {
    for (const service of services) await client.db(databaseName(config, service)).dropDatabase();
  } finally {
    await client.close();
  }
}

/**
 * The event log of a service's MongoDB database. FerretDB 1.24 has no multi-document
 * transactions (nor change streams), so the log runs with `transactions: 'off'` and polls:
 * a business write and its outbox record are two separate writes (see README.md).
 */
export function mongoEventLogOptions(db: string, logger?: Logger): MongoEventLogOptions {
  return { db, transactions: 'off', changeStreams: 'off', ...(logger ? { logger } : {}) };
}
