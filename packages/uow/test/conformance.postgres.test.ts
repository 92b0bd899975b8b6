import { randomUUID } from 'node:crypto';
import { silentLogger } from '@herald/core';
import { describeUnitOfWorkConformance } from '@herald/testkit';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createUnitOfWorkManager } from '../src/index.js';

/*
 * The testkit's UnitOfWorkAccessor suite on the manager over real PostgreSQL transactions
 * (HERALD_PG_URL, from `tooling/services/up.sh postgres`), with a plain `pg` BEGIN/COMMIT
 * runner: one pooled connection per unit of work, so concurrent units really overlap.
 */
const PG_URL = process.env.HERALD_PG_URL ?? 'postgres://herald:herald@127.0.0.1:5432/herald';
// A table of this run's own, so parallel runs (other worktrees) never see or drop each other's.
const TABLE = `herald_uow_markers_${randomUUID().slice(0, 8)}`;
let pool: pg.Pool;

async function withPgTransaction<R>(work: (tx: pg.PoolClient) => Promise<R>): Promise<R> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: PG_URL, max: 6 });
  try {
    await pool.query(`CREATE TABLE "${TABLE}" ("key" TEXT PRIMARY KEY)`);
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable (${(error as Error).message}). Start it with: bash tooling/services/up.sh postgres`,
    );
  }
});
afterAll(async () => {
  await pool?.query(`DROP TABLE IF EXISTS "${TABLE}"`).catch(() => undefined);
  await pool?.end();
});

describeUnitOfWorkConformance({
  name: 'createUnitOfWorkManager on PostgreSQL (pg BEGIN/COMMIT runner)',
  create: async () => {
    const manager = createUnitOfWorkManager<pg.PoolClient>({
      transaction: withPgTransaction,
      logger: silentLogger,
    });
    return {
      accessor: manager,
      run: (work) => manager.run(work),
      write: async (tx, key) => {
        await (tx as pg.PoolClient).query(`INSERT INTO "${TABLE}" ("key") VALUES ($1)`, [key]);
      },
      committed: async (key) =>
        (await pool.query(`SELECT 1 FROM "${TABLE}" WHERE "key" = $1`, [key])).rowCount === 1,
    };
  },
});
