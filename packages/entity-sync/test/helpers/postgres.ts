import {
  createIntegrationEventBus,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBusBuilder,
  silentLogger,
} from '@herald/core';
import { type PrismaEventLog, prismaEventLog } from '@herald/outbox-prisma';
import { emptyTables, postgresTestDatabase } from '@herald/testkit/engines';
import { PrismaPg } from '@prisma/adapter-pg';
import { versionLedgerSql } from '../../src/prisma/index.js';
import { PrismaClient } from '../generated/postgresql/client/client.js';
import { decodeRecords, fastOptions, type StoredEvent } from './common.js';

/**
 * PostgreSQL from `tooling/services/up.sh postgres` (HERALD_PG_URL). The tests
 * own the database `herald_entity_sync` (created on first use, namespaced by
 * HERALD_TEST_NAMESPACE), so other packages' tests never see these tables.
 */
const TEST_DATABASE = 'herald_entity_sync';

export { Buses, type StoredEvent } from './common.js';
export { PrismaClient };

const TABLES = [
  `CREATE TABLE IF NOT EXISTS "categories" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "products" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "price" INT NOT NULL,
    "version" INT NOT NULL DEFAULT 1, "category_id" TEXT REFERENCES "categories" ("id"))`,
  `CREATE TABLE IF NOT EXISTS "product_tags" ("product_id" TEXT NOT NULL REFERENCES "products" ("id") ON DELETE CASCADE,
    "tag" TEXT NOT NULL, "version" INT NOT NULL DEFAULT 1, PRIMARY KEY ("product_id", "tag"))`,
  `CREATE TABLE IF NOT EXISTS "suppliers" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS "order_products" ("id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "price" INT NOT NULL)`,
  versionLedgerSql('postgresql'),
];

/** A connected test database. */
export interface Postgres {
  readonly url: string;
  readonly prisma: PrismaClient;
  /** One more client on the test database (another service). */
  client(): PrismaClient;
  /** Empties Herald's and the test tables. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function openPostgres(): Promise<Postgres> {
  const { url } = await postgresTestDatabase(
    TEST_DATABASE,
    (at) => new PrismaClient({ adapter: new PrismaPg({ connectionString: at }) }),
  );
  const clients: PrismaClient[] = [];
  const client = () => {
    const created = new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: 5 }) });
    clients.push(created);
    return created;
  };
  const prisma = client();
  await prismaEventLog(prisma, { provider: 'postgresql' }).migrate();
  for (const statement of TABLES) await prisma.$executeRawUnsafe(statement);
  return {
    url,
    prisma,
    client,
    async reset() {
      await emptyTables(prisma, 'postgresql', [
        'herald_outbox',
        'herald_inbox',
        'products',
        'product_tags',
        'suppliers',
        'order_products',
        'herald_entity_versions',
      ]);
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.$disconnect()));
    },
  };
}

/** A bus builder on `broker` whose event log is the Prisma outbox/inbox of `prisma`. */
export function prismaBus(
  service: string,
  prisma: PrismaClient,
  broker = new InProcessBroker(),
): { builder: IntegrationEventBusBuilder; log: PrismaEventLog } {
  const log = prismaEventLog(prisma, { provider: 'postgresql', notify: false });
  const builder = createIntegrationEventBus({ service, logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .configure(fastOptions);
  return { builder, log };
}

/** Every event in the outbox, in insert order. */
export async function outboxEvents(log: PrismaEventLog): Promise<StoredEvent[]> {
  return decodeRecords(await log.outbox.list({ limit: 1000 }));
}

/**
 * True when the row of `table` with this id and the newest outbox row were
 * written by the same transaction (PostgreSQL's `xmin`): the event committed
 * with the change, not beside it.
 */
export async function writtenTogether(prisma: PrismaClient, table: string, id: string): Promise<boolean> {
  const rows = await prisma.$queryRawUnsafe<Array<{ row: string; event: string }>>(
    `SELECT (SELECT xmin::text FROM "${table}" WHERE id = $1) AS row,
       (SELECT xmin::text FROM "herald_outbox" ORDER BY sequence DESC LIMIT 1) AS event`,
    id,
  );
  return rows[0] !== undefined && rows[0].row !== null && rows[0].row === rows[0].event;
}
