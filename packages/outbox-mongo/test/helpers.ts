import { randomUUID } from 'node:crypto';
import { sleep } from '@herald/core';
import { type Db, MongoClient } from 'mongodb';

/** FerretDB from `tooling/services/up.sh ferretdb` (or any MongoDB-compatible server). */
export const MONGO_URL = process.env.HERALD_MONGO_URL || 'mongodb://127.0.0.1:27017/';

/** A database name of its own per test file (and run), so files and engineers never share data. */
export function uniqueDbName(file: string): string {
  return `herald_${file}_${randomUUID().slice(0, 8)}`;
}

/** Connects, or fails with the command that starts the engine (tests never skip silently). */
export async function connect(
  url = MONGO_URL,
  hint = 'bash tooling/services/up.sh ferretdb',
): Promise<MongoClient> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000, maxPoolSize: 20 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new Error(
      `Cannot reach MongoDB at ${url} (${(error as Error).message}). Start it with \`${hint}\` ` +
        '(it exports HERALD_MONGO_URL), then run the tests again.',
    );
  }
  return client;
}

/** Empties every collection of `db` (faster than dropping it on FerretDB, and keeps the indexes). */
export async function clearDatabase(db: Db): Promise<void> {
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  for (const { name } of collections) {
    if (!name.startsWith('system.')) await db.collection(name).deleteMany({});
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Core's `sleep`, re-exported for the tests. */
export { sleep };
