import { silentLogger } from '@herald/core';
import { type PrismaClientLike, type PrismaEventLogOptions, prismaEventLog } from '@herald/outbox-prisma';
import type { ScenarioEffect, ScenarioStore } from '@herald/testkit';

/** What the scenario store needs of a Prisma client (and of its interactive transaction client). */
interface RawClient {
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T>(sql: string, ...values: unknown[]): Promise<T>;
  $transaction<T>(work: (tx: never) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}

const EFFECTS = 'herald_scenario_effect';

/** The effect table of the scenarios, created next to Herald's tables. */
export const EFFECT_TABLE_DDL = `CREATE TABLE IF NOT EXISTS ${EFFECTS} (
  event_id VARCHAR(64) NOT NULL, key_name VARCHAR(191) NOT NULL, seq INTEGER NOT NULL,
  replica VARCHAR(64) NOT NULL, attempt INTEGER NOT NULL)`;

/**
 * A Prisma event log plus the scenario's effect table, on one client. The
 * handler's effect is an `INSERT` through `ctx.tx` (Prisma's interactive
 * transaction client), so it commits or rolls back with the inbox entry.
 */
export function prismaScenarioStore(
  prisma: RawClient,
  options: PrismaEventLogOptions & { placeholders: 'dollar' | 'question' },
): ScenarioStore {
  const { placeholders, ...logOptions } = options;
  const eventLog = prismaEventLog(prisma as unknown as PrismaClientLike, { logger: silentLogger, ...logOptions });
  const p = (index: number) => (placeholders === 'dollar' ? `$${index}` : '?');
  const insert = `INSERT INTO ${EFFECTS} (event_id, key_name, seq, replica, attempt) VALUES (${[1, 2, 3, 4, 5].map(p).join(', ')})`;
  return {
    eventLog,
    transaction: (work) => prisma.$transaction((tx) => work(tx)),
    async recordEffect(tx, effect) {
      await (tx as RawClient).$executeRawUnsafe(
        insert,
        effect.eventId,
        effect.key,
        effect.seq,
        effect.replica,
        effect.attempt,
      );
    },
    async effects() {
      const rows = await prisma.$queryRawUnsafe<
        Array<{ event_id: string; key_name: string; seq: number; replica: string; attempt: number }>
      >(`SELECT event_id, key_name, seq, replica, attempt FROM ${EFFECTS}`);
      return rows.map(
        (row): ScenarioEffect => ({
          eventId: row.event_id,
          key: row.key_name,
          seq: Number(row.seq),
          replica: row.replica,
          attempt: Number(row.attempt),
        }),
      );
    },
    async close() {
      await eventLog.outbox.close?.().catch(() => undefined);
      await prisma.$disconnect();
    },
  };
}
