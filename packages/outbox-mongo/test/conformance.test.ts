import {
  describeOutboxStoreConformance,
  type InboxStoreFixture,
  inboxStoreCases,
  runInboxStoreCase,
} from '@herald/testkit';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mongoEventLog } from '../src/index.js';
import { clearDatabase, connect, uniqueDbName } from './helpers.js';

/*
 * The testkit suites against FerretDB 1.24 (HERALD_MONGO_URL), which has no
 * multi-document transactions, so the stores run with `transactions: 'off'`.
 * test/live.test.ts runs the same suites with transactions on a replica set.
 */

const db = uniqueDbName('conformance');
let client: MongoClient;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client
    ?.db(db)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
});

async function freshEventLog() {
  await clearDatabase(client.db(db));
  const eventLog = mongoEventLog(client, { db, transactions: 'off', changeStreams: 'off' });
  await eventLog.init();
  return eventLog;
}

// The outbox store declares `transactional: false`, so the suite's rollback and commit cases only check that.
describeOutboxStoreConformance({
  name: "mongodb on FerretDB, transactions: 'off'",
  create: async () => {
    const eventLog = await freshEventLog();
    return { store: eventLog.outbox, cleanup: () => eventLog.close() };
  },
});

/**
 * Inbox cases that need the handler's transaction to roll back the inbox
 * entry. The inbox suite has no "non-transactional store" mode, so they
 * cannot pass with `transactions: 'off'`; they run in test/live.test.ts.
 */
const NEEDS_TRANSACTIONS = new Set([
  "rolling back the handler's transaction removes the entry, so a redelivery begins again",
  'complete inside a transaction is invisible outside it until commit',
]);

const createInbox = async (): Promise<InboxStoreFixture> => {
  const eventLog = await freshEventLog();
  return { store: eventLog.inbox, cleanup: () => eventLog.close() };
};

describe("InboxStore conformance: mongodb on FerretDB, transactions: 'off'", () => {
  it('knows every case it leaves to the live test', () => {
    const names = new Set(inboxStoreCases.map((testCase) => testCase.name));
    for (const name of NEEDS_TRANSACTIONS) expect(names.has(name), name).toBe(true);
  });
  for (const testCase of inboxStoreCases) {
    if (NEEDS_TRANSACTIONS.has(testCase.name)) {
      it(`without transactions this case fails, as it must: ${testCase.name}`, async () => {
        await expect(runInboxStoreCase(testCase, createInbox)).rejects.toThrow();
      });
    } else {
      it(testCase.name, () => runInboxStoreCase(testCase, createInbox), 30_000);
    }
  }
});
