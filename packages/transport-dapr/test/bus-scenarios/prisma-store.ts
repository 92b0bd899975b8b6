import { silentLogger } from '@herald/core';
import { type PrismaClientLike, type PrismaEventLogOptions, prismaEventLog } from '@herald/outbox-prisma';
import { type ScenarioStore, sqlScenarioStore } from '@herald/testkit/bus-pair';

/** What the scenario store needs of a Prisma client (and of its interactive transaction client). */
interface RawPrismaClient {
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T>(sql: string, ...values: unknown[]): Promise<T>;
  $transaction<T>(work: (tx: never) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}

/** A Prisma event log plus the scenario's effect table, on one client (any provider). */
export function prismaScenarioStore(
  client: PrismaClientLike,
  options: PrismaEventLogOptions & { placeholders: 'dollar' | 'question' },
): ScenarioStore & { readonly eventLog: ReturnType<typeof prismaEventLog> } {
  const { placeholders, ...logOptions } = options;
  const prisma = client as unknown as RawPrismaClient;
  const eventLog = prismaEventLog(client, {
    logger: silentLogger,
    ...logOptions,
  });
  const store = sqlScenarioStore({
    eventLog,
    placeholders,
    transaction: (work) => prisma.$transaction((tx) => work(tx)),
    client: {
      execute: (sql, values, tx) => ((tx ?? prisma) as RawPrismaClient).$executeRawUnsafe(sql, ...values),
      query: (sql) => prisma.$queryRawUnsafe(sql),
    },
    async close() {
      await eventLog.outbox.close?.().catch(() => undefined);
      await prisma.$disconnect();
    },
  });
  return { ...store, eventLog };
}
