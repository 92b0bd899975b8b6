import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 * defaulting to what the script prints); each test database is created on
 * first use. SQLite is a file in a fresh temporary directory.
 */

export const PG_URL = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';
export const MARIADB_URL = process.env.HERALD_MARIADB_URL ?? 'mysql://herald:herald@127.0.0.1:3306/herald';

/** Databases the tests own (created if missing; Herald's tables are truncated between cases). */
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

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

function unreachable(engine: string, url: string, service: string, error: unknown): Error {
  const safe = url.replace(/:[^:@/]*@/, ':***@');
  return new Error(
    `${engine} is not reachable at ${safe} (${(error as Error).message}). ` +
      `Start it with: bash tooling/services/up.sh ${service}`,
  );
}

const BUSINESS_TABLE: Record<Provider, string> = {
  postgresql: 'CREATE TABLE IF NOT EXISTS "test_orders" ("id" TEXT PRIMARY KEY, "note" TEXT NOT NULL)',
  mysql: 'CREATE TABLE IF NOT EXISTS `test_orders` (`id` VARCHAR(191) PRIMARY KEY, `note` TEXT NOT NULL)',
  sqlite: 'CREATE TABLE IF NOT EXISTS "test_orders" ("id" TEXT PRIMARY KEY, "note" TEXT NOT NULL)',
};

async function postgres(): Promise<EngineHandle> {
  const admin = new PostgresClient({ adapter: new PrismaPg({ connectionString: PG_URL }) });
  try {
    const found = await admin.$queryRawUnsafe<unknown[]>(
      'SELECT 1 FROM pg_database WHERE datname = $1',
      TEST_DATABASE,
    );
    if (found.length === 0) await admin.$executeRawUnsafe(`CREATE DATABASE "${TEST_DATABASE}"`);
  } catch (error) {
    throw unreachable('PostgreSQL', PG_URL, 'postgres', error);
  } finally {
    await admin.$disconnect();
  }
  const url = withDatabase(PG_URL, TEST_DATABASE);
  return handle(
    'postgresql',
    url,
    () => new PostgresClient({ adapter: new PrismaPg({ connectionString: url }) }),
  );
}

async function mariadb(): Promise<EngineHandle> {
  const base = MARIADB_URL.replace(/^mysql:/, 'mariadb:');
  const admin = new MySqlClient({ adapter: new PrismaMariaDb(base) });
  try {
    await admin.$executeRawUnsafe(`CREATE DATABASE IF NOT EXISTS \`${TEST_DATABASE}\``);
  } catch (error) {
    throw unreachable('MariaDB', MARIADB_URL, 'mariadb', error);
  } finally {
    await admin.$disconnect();
  }
  const url = withDatabase(base, TEST_DATABASE);
  return handle(
    'mysql',
    url,
    () => new MySqlClient({ adapter: new PrismaMariaDb(url) }) as unknown as TestPrismaClient,
  );
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
      if (provider === 'postgresql') {
        await prisma.$executeRawUnsafe(`TRUNCATE ${tables.map((t) => `"${t}"`).join(', ')} RESTART IDENTITY`);
      } else if (provider === 'mysql') {
        for (const table of tables) await prisma.$executeRawUnsafe(`TRUNCATE TABLE \`${table}\``);
      } else {
        for (const table of tables) await prisma.$executeRawUnsafe(`DELETE FROM "${table}"`);
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
