import { describeError, redactSecrets } from '@herald/core';
import { testDatabaseName } from './namespace.js';

/**
 * The part of a SQL client these helpers use. A generated `PrismaClient` (with its driver
 * adapter) has it, so the testkit needs no database driver of its own.
 */
export interface SqlClient {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $disconnect(): Promise<void>;
}

/** `postgresql` or `mysql` (MariaDB), as Herald's Prisma store names them. */
export type SqlDialect = 'postgresql' | 'mysql';

/** A test database that exists on the server. */
export interface TestDatabase {
  /** Its name, namespaced by `HERALD_TEST_NAMESPACE` (see `testDatabaseName`). */
  readonly name: string;
  /** The server URL with the database as its path. */
  readonly url: string;
}

/** `HERALD_PG_URL`, or the URL `tooling/services/up.sh postgres` prints. */
export function postgresServerUrl(): string {
  return process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';
}

/** `HERALD_MARIADB_URL`, or the URL `tooling/services/up.sh mariadb` prints. */
export function mariadbServerUrl(): string {
  return process.env.HERALD_MARIADB_URL ?? 'mysql://herald:herald@127.0.0.1:3306/herald';
}

/**
 * The URL of the PostgreSQL test database `name` (namespaced), without creating it: for a child
 * process that opens the database {@link postgresTestDatabase} prepared.
 */
export function postgresTestDatabaseUrl(name: string, serverUrl: string = postgresServerUrl()): string {
  return withDatabase(serverUrl, testDatabaseName(name));
}

/**
 * Creates the PostgreSQL database `name` (namespaced) on the test server if it is missing.
 *
 * @param connect opens a client on a URL; used once on the server URL, then disconnected.
 * @param serverUrl the server to use (default {@link postgresServerUrl}).
 * @throws Error naming the `up.sh` command when the server is not reachable (password redacted).
 */
export async function postgresTestDatabase(
  name: string,
  connect: (url: string) => SqlClient,
  serverUrl: string = postgresServerUrl(),
): Promise<TestDatabase> {
  const database = testDatabaseName(name);
  await onServer('PostgreSQL', 'postgres', serverUrl, connect, async (admin) => {
    const found = await admin.$queryRawUnsafe<unknown[]>(
      'SELECT 1 FROM pg_database WHERE datname = $1',
      database,
    );
    if (found.length === 0) await admin.$executeRawUnsafe(`CREATE DATABASE "${database}"`);
  });
  return { name: database, url: withDatabase(serverUrl, database) };
}

/**
 * Creates the MariaDB database `name` (namespaced) on the test server if it is missing.
 *
 * @param connect opens a client on a URL; used once on the server URL, then disconnected.
 * @param serverUrl the server to use (default {@link mariadbServerUrl}); the returned URL keeps
 *   its scheme (`mysql:` or `mariadb:`, whichever the driver adapter wants).
 * @throws Error naming the `up.sh` command when the server is not reachable (password redacted).
 */
export async function mariadbTestDatabase(
  name: string,
  connect: (url: string) => SqlClient,
  serverUrl: string = mariadbServerUrl(),
): Promise<TestDatabase> {
  const database = testDatabaseName(name);
  await onServer('MariaDB', 'mariadb', serverUrl, connect, async (admin) => {
    await admin.$executeRawUnsafe(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
  });
  return { name: database, url: withDatabase(serverUrl, database) };
}

/**
 * Empties `tables` between tests: one `TRUNCATE … RESTART IDENTITY` on PostgreSQL, one
 * `TRUNCATE TABLE` per table on MariaDB (which truncates one table a statement).
 */
export async function emptyTables(
  client: SqlClient,
  dialect: SqlDialect,
  tables: readonly string[],
): Promise<void> {
  if (dialect === 'postgresql') {
    await client.$executeRawUnsafe(`TRUNCATE ${tables.map((t) => `"${t}"`).join(', ')} RESTART IDENTITY`);
    return;
  }
  for (const table of tables) await client.$executeRawUnsafe(`TRUNCATE TABLE \`${table}\``);
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onServer(
  engine: string,
  service: string,
  serverUrl: string,
  connect: (url: string) => SqlClient,
  work: (admin: SqlClient) => Promise<void>,
): Promise<void> {
  const admin = connect(serverUrl);
  try {
    await work(admin);
  } catch (error) {
    throw new Error(
      redactSecrets(
        `${engine} at ${serverUrl} is not usable (${describeError(error)}). ` +
          `Start it with: bash tooling/services/up.sh ${service}`,
      ),
    );
  } finally {
    await admin.$disconnect();
  }
}
