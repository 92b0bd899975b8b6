import { randomUUID } from 'node:crypto';
import {
  createIntegrationEventBus,
  InProcessBroker,
  InProcessTransport,
  type IntegrationEventBusBuilder,
  silentLogger,
} from '@herald/core';
import { type MongoEventLog, mongoEventLog } from '@herald/outbox-mongo';
import { type Db, MongoClient } from 'mongodb';
import { decodeRecords, fastOptions, type StoredEvent } from './common.js';

/** FerretDB from `tooling/services/up.sh ferretdb` (HERALD_MONGO_URL), or any MongoDB-compatible server. */
export const MONGO_URL = process.env.HERALD_MONGO_URL || 'mongodb://127.0.0.1:27017/';

/** Connects, or fails with the command that starts the engine (tests never skip silently). */
export async function connectMongo(): Promise<MongoClient> {
  const client = new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5_000, maxPoolSize: 10 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new Error(
      `Cannot reach MongoDB at ${MONGO_URL} (${(error as Error).message}). ` +
        'Start it with: bash tooling/services/up.sh ferretdb',
    );
  }
  return client;
}

/** A database of its own per test file and run. */
export function uniqueDbName(file: string): string {
  return `herald_entity_sync_${file}_${randomUUID().slice(0, 8)}`;
}

/** Empties every collection of `db` (keeps indexes; faster than dropping on FerretDB). */
export async function clearDatabase(db: Db): Promise<void> {
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  for (const { name } of collections) await db.collection(name).deleteMany({});
}

/** A bus builder on `broker` with a MongoDB outbox/inbox without transactions (FerretDB has none). */
export function mongoBus(
  service: string,
  client: MongoClient,
  db: string,
  broker = new InProcessBroker(),
): { builder: IntegrationEventBusBuilder; log: MongoEventLog } {
  const log = mongoEventLog(client, { db, transactions: 'off', changeStreams: 'off' });
  const builder = createIntegrationEventBus({ service, logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .configure(fastOptions);
  return { builder, log };
}

/** Every event in a MongoDB outbox, in insert order. */
export async function mongoOutboxEvents(log: MongoEventLog): Promise<StoredEvent[]> {
  return decodeRecords(await log.outbox.list({ limit: 1000 }));
}
