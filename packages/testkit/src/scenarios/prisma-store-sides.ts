import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EventLog } from '@herald/core';
import {
  mariadbServerUrl,
  mariadbTestDatabase,
  postgresServerUrl,
  postgresTestDatabase,
  type SqlClient,
  type TestDatabase,
} from '../engines/sql.js';
import type { ScenarioStoreSide } from './sides.js';
import { prismaScenarioStore, SCENARIO_EFFECT_DDL } from './sql-store.js';

/** An event log that creates its own tables (`prismaEventLog` of `@herald/outbox-prisma`). */
export interface MigratingEventLog extends EventLog {
  /** Creates or updates the event log's tables. */
  migrate(): Promise<unknown>;
}

/**
 * Options of {@link prismaPostgresStoreSide} and {@link prismaMariadbStoreSide}.
 * The caller brings the generated Prisma client and `@herald/outbox-prisma`, so
 * the testkit depends on neither.
 */
export interface PrismaServerStoreSideOptions<C extends SqlClient> {
  /** Opens a client (a generated `PrismaClient` with its driver adapter) on a database URL. */
  connect(url: string): C;
  /**
   * Herald's event log on `client`, whose database is at `url` (PostgreSQL:
   * hand it to `notify.connectionString`, so relays of other processes wake).
   */
  eventLog(client: C, url: string): MigratingEventLog;
  /** The server; default `HERALD_PG_URL` / `HERALD_MARIADB_URL` (with the `mariadb:` scheme the driver adapter reads). */
  serverUrl?: string;
}

/**
 * The store side "Prisma PostgreSQL": one database per suite run
 * (`herald_scenarios_<run>`, namespaced by `HERALD_TEST_NAMESPACE`), migrated,
 * with the effect table; dropped after the suite.
 */
export function prismaPostgresStoreSide<C extends SqlClient>(
  options: PrismaServerStoreSideOptions<C>,
): ScenarioStoreSide {
  const serverUrl = options.serverUrl ?? postgresServerUrl();
  return serverStoreSide('Prisma PostgreSQL', 'dollar', options, serverUrl, {
    create: (name) => postgresTestDatabase(name, options.connect, serverUrl),
    drop: (database) => `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`,
  });
}

/**
 * The store side "Prisma MariaDB": one database per suite run, as
 * {@link prismaPostgresStoreSide}. MariaDB has no LISTEN/NOTIFY: relays of
 * other processes find records by polling.
 */
export function prismaMariadbStoreSide<C extends SqlClient>(
  options: PrismaServerStoreSideOptions<C>,
): ScenarioStoreSide {
  // The driver adapter speaks `mariadb:`; the services script prints a `mysql:` URL.
  const serverUrl = options.serverUrl ?? mariadbServerUrl().replace(/^mysql:/, 'mariadb:');
  return serverStoreSide('Prisma MariaDB', 'question', options, serverUrl, {
    create: (name) => mariadbTestDatabase(name, options.connect, serverUrl),
    drop: (database) => `DROP DATABASE IF EXISTS \`${database}\``,
  });
}

/** How one database server creates and drops the run's database. */
interface ServerDatabases {
  create(name: string): Promise<TestDatabase>;
  drop(database: string): string;
}

function serverStoreSide<C extends SqlClient>(
  name: string,
  placeholders: 'dollar' | 'question',
  options: PrismaServerStoreSideOptions<C>,
  serverUrl: string,
  databases: ServerDatabases,
): ScenarioStoreSide {
  return {
    name,
    features: { transactionalOutbox: true, transactionalInbox: true },

    async setup(runId) {
      const database = await databases.create(`herald_scenarios_${runId}`);
      const client = options.connect(database.url);
      try {
        await options.eventLog(client, database.url).migrate();
        await client.$executeRawUnsafe(SCENARIO_EFFECT_DDL);
      } finally {
        await client.$disconnect();
      }
      return { database: database.name, databaseUrl: database.url };
    },

    async teardown(settings) {
      const admin = options.connect(serverUrl);
      try {
        await admin.$executeRawUnsafe(databases.drop(settings.database!));
      } finally {
        await admin.$disconnect();
      }
    },

    async createStore(settings) {
      const url = settings.databaseUrl!;
      return prismaScenarioStore(options.connect(url), (on) => options.eventLog(on, url), placeholders);
    },
  };
}

/** Options of {@link prismaSqliteStoreSide}. */
export interface PrismaSqliteStoreSideOptions<C extends SqlClient> {
  /** Opens a client (a generated `PrismaClient` with the libSQL adapter and a busy timeout) on a database file. */
  connect(file: string): C;
  /** Herald's event log writing through `writer` and listing through `reader` (`readClient`). */
  eventLog(writer: C, reader: C): MigratingEventLog;
}

/**
 * The store side "Prisma SQLite": one database file (WAL mode) per suite run,
 * shared by every process of the run; relays find records by polling. As
 * `@herald/outbox-prisma`'s README asks, a process writes through one client
 * (the replicas of one process share it) and lists through a second.
 */
export function prismaSqliteStoreSide<C extends SqlClient>(
  options: PrismaSqliteStoreSideOptions<C>,
): ScenarioStoreSide {
  /** This process's writing and reading clients of each file, with how many stores use them. */
  const shared = new Map<string, { writer: C; reader: C; users: number }>();
  const clientsOf = (file: string) => {
    let entry = shared.get(file);
    if (!entry) {
      entry = { writer: options.connect(file), reader: options.connect(file), users: 0 };
      shared.set(file, entry);
    }
    entry.users++;
    return entry;
  };

  return {
    name: 'Prisma SQLite',
    features: { transactionalOutbox: true, transactionalInbox: true },

    async setup(runId) {
      const file = join(tmpdir(), `herald-scenarios-${runId}`, 'scenarios.db');
      mkdirSync(dirname(file), { recursive: true });
      const client = options.connect(file);
      try {
        await client.$queryRawUnsafe('PRAGMA journal_mode = WAL');
        await options.eventLog(client, client).migrate();
        await client.$executeRawUnsafe(SCENARIO_EFFECT_DDL);
      } finally {
        await client.$disconnect();
      }
      return { file };
    },

    async teardown(settings) {
      rmSync(dirname(settings.file!), { recursive: true, force: true });
    },

    async createStore(settings) {
      const file = settings.file!;
      const clients = clientsOf(file);
      const store = prismaScenarioStore(
        clients.writer,
        (on) => options.eventLog(on, clients.reader),
        'question',
      );
      return {
        ...store,
        async close() {
          await store.eventLog.outbox?.close?.().catch(() => undefined);
          if (--clients.users > 0) return;
          shared.delete(file);
          await clients.writer.$disconnect();
          await clients.reader.$disconnect();
        },
      };
    },
  };
}
