import type { EventLog } from '@herald/core';
import type { ScenarioEffect, ScenarioStore } from './pair.js';

/** A SQL client as the scenario needs it: statements with positional parameters, on a client or a transaction. */
export interface SqlScenarioClient {
  /** Runs a statement (through `tx` when given: the transaction of {@link SqlScenarioStoreOptions.transaction}). */
  execute(sql: string, values: readonly unknown[], tx?: unknown): Promise<unknown>;
  /** Runs a query outside any transaction and returns its rows. */
  query<T>(sql: string): Promise<T[]>;
}

/** Options of {@link sqlScenarioStore}. */
export interface SqlScenarioStoreOptions {
  /** The pair's SQL event log (outbox and inbox), handed to `useEventLog`. */
  readonly eventLog: EventLog;
  /** Opens a transaction of the store's database (the `tx` handlers get must be of the same kind). */
  transaction<T>(work: (tx: unknown) => Promise<T>): Promise<T>;
  /** Writes the effect rows (through the handler's `tx`) and reads them back. */
  readonly client: SqlScenarioClient;
  /** `$1, $2…` (PostgreSQL) or `?` (MySQL/MariaDB, SQLite). */
  readonly placeholders: 'dollar' | 'question';
  /** Closes the client (and anything the event log opened). */
  close(): Promise<void>;
}

/** The table of the scenario effects, portable across PostgreSQL, MariaDB/MySQL and SQLite. */
export const SCENARIO_EFFECT_TABLE = 'herald_scenario_effect';

/** `CREATE TABLE IF NOT EXISTS` for {@link SCENARIO_EFFECT_TABLE}; run it once in the pair's `setup`. */
export const SCENARIO_EFFECT_DDL = `CREATE TABLE IF NOT EXISTS ${SCENARIO_EFFECT_TABLE} (
  event_id VARCHAR(64) NOT NULL, key_name VARCHAR(191) NOT NULL, seq INTEGER NOT NULL,
  replica VARCHAR(64) NOT NULL, attempt INTEGER NOT NULL)`;

/**
 * A {@link ScenarioStore} for SQL event logs: the handler's effect is an
 * `INSERT` into {@link SCENARIO_EFFECT_TABLE} through `ctx.tx`, so it commits
 * or rolls back with the inbox entry.
 */
export function sqlScenarioStore(options: SqlScenarioStoreOptions): ScenarioStore {
  const p = (index: number) => (options.placeholders === 'dollar' ? `$${index}` : '?');
  const insert =
    `INSERT INTO ${SCENARIO_EFFECT_TABLE} (event_id, key_name, seq, replica, attempt) ` +
    `VALUES (${[1, 2, 3, 4, 5].map(p).join(', ')})`;
  return {
    eventLog: options.eventLog,
    transaction: (work) => options.transaction(work),
    async recordEffect(tx, effect) {
      if (tx === undefined) throw new Error('scenario: the handler got no ctx.tx');
      await options.client.execute(
        insert,
        [effect.eventId, effect.key, effect.seq, effect.replica, effect.attempt],
        tx,
      );
    },
    async effects() {
      const rows = await options.client.query<{
        event_id: string;
        key_name: string;
        seq: number | bigint;
        replica: string;
        attempt: number | bigint;
      }>(`SELECT event_id, key_name, seq, replica, attempt FROM ${SCENARIO_EFFECT_TABLE}`);
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
    close: () => options.close(),
  };
}

/** What {@link prismaScenarioStore} needs of a Prisma client (and of its interactive transaction client). */
export interface PrismaScenarioClient {
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T>(sql: string, ...values: unknown[]): Promise<T>;
  $transaction<T>(work: (tx: never) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}

/**
 * {@link sqlScenarioStore} on a Prisma client of any provider, with the event
 * log `eventLogOn` builds on that client (the caller imports
 * `@herald/outbox-prisma`, so testkit needs no Prisma). Closing it closes the
 * outbox and the client.
 */
export function prismaScenarioStore<C, L extends EventLog>(
  client: C,
  eventLogOn: (client: C) => L,
  placeholders: 'dollar' | 'question',
): ScenarioStore & { readonly eventLog: L } {
  const prisma = client as unknown as PrismaScenarioClient;
  const eventLog = eventLogOn(client);
  const store = sqlScenarioStore({
    eventLog,
    placeholders,
    transaction: (work) => prisma.$transaction((tx) => work(tx)),
    client: {
      execute: (sql, values, tx) =>
        ((tx ?? prisma) as PrismaScenarioClient).$executeRawUnsafe(sql, ...values),
      query: (sql) => prisma.$queryRawUnsafe(sql),
    },
    async close() {
      await eventLog.outbox?.close?.().catch(() => undefined);
      await prisma.$disconnect();
    },
  });
  return { ...store, eventLog };
}
