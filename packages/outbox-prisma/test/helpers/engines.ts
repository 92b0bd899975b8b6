import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  emptyTables,
  mariadbServerUrl,
  mariadbTestDatabase,
  postgresServerUrl,
  postgresTestDatabase,
} from '@herald/testkit/engines';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  type PrismaEventLog,
  type PrismaEventLogOptions,
  type Provider,
  prismaEventLog,
} from '../../src/index.js';
import { PrismaClient as MySqlClient } from '../generated/mysql/client/client.js';
import { PrismaClient as PostgresClient } from '../generated/postgresql/client/client.js';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client/client.js';

/**
 * The three real engines the tests run against. PostgreSQL and MariaDB come
 * from `tooling/services/up.sh` (URLs from HERALD_PG_URL / HERALD_MARIADB_URL,
 * defaulting to what the script prints); the test database is created on
 * first use through `@herald/testkit/engines`, namespaced by HERALD_TEST_NAMESPACE. SQLite is a file in a fresh temporary directory.
 */

/** The PostgreSQL server (the test database is created on it). */
export const PG_URL = postgresServerUrl();

/** Database the tests own (created if missing; Herald's tables are emptied between cases). */
const TEST_DATABASE = 'herald_outbox_prisma_test';

/**
 * The three generated clients have the same models (the fragment plus `TestOrder`) and the
 * same API for everything the tests use; they are typed as one so tests stay engine-neutral.
 */
export type TestPrismaClient = PostgresClient;

/** A connected engine: clients for one test database, and how to reset it. */
export interface EngineHandle {
  readonly provider: Provider;
  /** Opens one more client on the test database (a second relay, a second service). */
  client(): TestPrismaClient;
  /** The main client. */
  readonly prisma: TestPrismaClient;
  /**
   * The client of "another service or replica" on the same database: its own
   * client on PostgreSQL and MariaDB; the main client on SQLite, where one
   * process keeps one writing connection (see the README).
   */
  peer(): TestPrismaClient;
  /** Connection string of the test database (PostgreSQL LISTEN). */
  readonly url: string;
  /** Options every event log of this engine needs (SQLite: a read client). */
  logOptions(extra?: Partial<PrismaEventLogOptions>): PrismaEventLogOptions;
  /** A Prisma event log on `prisma` (default: the main client). */
  log(extra?: Partial<PrismaEventLogOptions>, prisma?: TestPrismaClient): PrismaEventLog;
  /** Empties Herald's tables and the business table. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const BUSINESS_TABLE: Record<Provider, string> = {
  postgresql: 'CREATE TABLE IF NOT EXISTS "test_orders" ("id" TEXT PRIMARY KEY, "note" TEXT NOT NULL)',
  mysql: 'CREATE TABLE IF NOT EXISTS `test_orders` (`id` VARCHAR(191) PRIMARY KEY, `note` TEXT NOT NULL)',
  sqlite: 'CREATE TABLE IF NOT EXISTS "test_orders" ("id" TEXT PRIMARY KEY, "note" TEXT NOT NULL)',
};

async function postgres(): Promise<EngineHandle> {
  const connect = (url: string) => new PostgresClient({ adapter: new PrismaPg({ connectionString: url }) });
  const { url } = await postgresTestDatabase(TEST_DATABASE, connect);
  return handle('postgresql', url, () => connect(url));
}

async function mariadb(): Promise<EngineHandle> {
  const connect = (url: string) =>
    new MySqlClient({ adapter: new PrismaMariaDb(url) }) as unknown as TestPrismaClient;
  const server = mariadbServerUrl().replace(/^mysql:/, 'mariadb:');
  const { url } = await mariadbTestDatabase(TEST_DATABASE, connect, server);
  return handle('mysql', url, () => connect(url));
}

async function sqlite(): Promise<EngineHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-outbox-prisma-'));
  const url = `file:${join(dir, 'test.db')}`;
  const engine = await handle(
    'sqlite',
    url,
    () =>
      new SqliteClient({ adapter: new PrismaLibSql({ url, timeout: 5000 }) }) as unknown as TestPrismaClient,
    () => rmSync(dir, { recursive: true, force: true }),
  );
  // WAL: a read on a second connection never waits for an open write transaction.
  await engine.prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
  return engine;
}

async function handle(
  provider: Provider,
  url: string,
  open: () => TestPrismaClient,
  cleanup?: () => void,
): Promise<EngineHandle> {
  const clients: TestPrismaClient[] = [];
  const client = () => {
    const created = open();
    clients.push(created);
    return created;
  };
  const prisma = client();
  // SQLite: listings and key checks read through a second connection (see `readClient`).
  const reader = provider === 'sqlite' ? client() : undefined;
  const logOptions = (extra: Partial<PrismaEventLogOptions> = {}): PrismaEventLogOptions => ({
    provider,
    ...(reader ? { readClient: reader } : {}),
    ...extra,
  });
  const engine: EngineHandle = {
    provider,
    prisma,
    url,
    client,
    peer: () => (provider === 'sqlite' ? prisma : client()),
    logOptions,
    log: (extra, on = prisma) => prismaEventLog(on, logOptions(extra)),
    async reset() {
      const tables = ['herald_outbox', 'herald_inbox', 'test_orders'];
      if (provider === 'sqlite') {
        for (const table of tables) await prisma.$executeRawUnsafe(`DELETE FROM "${table}"`);
      } else {
        await emptyTables(prisma, provider, tables);
      }
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.$disconnect()));
      cleanup?.();
    },
  };
  await prismaEventLog(prisma, { provider }).migrate();
  await prisma.$executeRawUnsafe(BUSINESS_TABLE[provider]);
  return engine;
}

const OPENERS: Record<Provider, () => Promise<EngineHandle>> = {
  postgresql: postgres,
  mysql: mariadb,
  sqlite,
};

/** Display names for test titles. */
export const ENGINE_NAMES: Record<Provider, string> = {
  postgresql: 'PostgreSQL',
  mysql: 'MariaDB',
  sqlite: 'SQLite',
};

export const PROVIDERS: readonly Provider[] = ['postgresql', 'mysql', 'sqlite'];

/** Connects to an engine (creating its test database and Herald's tables). */
export function openEngine(provider: Provider): Promise<EngineHandle> {
  return OPENERS[provider]();
}

/**
 * An engine opened on first use and shared by the tests of one file, for
 * suites that register their tests before any hook runs (the conformance suites).
 */
export function lazyEngine(provider: Provider): { get(): Promise<EngineHandle>; close(): Promise<void> } {
  let opening: Promise<EngineHandle> | undefined;
  return {
    get: () => (opening ??= openEngine(provider)),
    close: async () => {
      if (opening) await (await opening).close();
    },
  };
}
