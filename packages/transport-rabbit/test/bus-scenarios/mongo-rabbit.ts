/**
 * The bus scenario pair "MongoDB (FerretDB) + RabbitMQ", as a module whose
 * default export child processes import. One database per suite run.
 * FerretDB has no transactions, so the event log runs with `transactions:
 * 'off'`: `publish` takes no transaction and handler writes are not rolled
 * back with the inbox — the scenarios that need either are reported as skipped.
 */
import { mongoEventLog } from '@herald/outbox-mongo';
import { composeBusPair, type ScenarioEffect, type ScenarioStoreSide } from '@herald/testkit/bus-pair';
import { MongoClient } from 'mongodb';
import { rabbitSide } from './rabbit-pair.js';

const MONGO_URL = process.env.HERALD_MONGO_URL || 'mongodb://127.0.0.1:27017/';
const EFFECTS = 'herald_scenario_effect';

function client(): MongoClient {
  return new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5_000, maxPoolSize: 20 });
}

const ferretdb: ScenarioStoreSide = {
  name: 'MongoDB (FerretDB)',
  features: { transactionalOutbox: false, transactionalInbox: false },

  async setup(runId) {
    return { db: `herald_scenarios_${runId}` };
  },

  async teardown(settings) {
    const mongo = client();
    try {
      await mongo.db(settings.db!).dropDatabase();
    } finally {
      await mongo.close();
    }
  },

  async createStore(settings) {
    const mongo = client();
    await mongo.connect();
    const eventLog = mongoEventLog(mongo, { db: settings.db!, transactions: 'off' });
    await eventLog.init();
    const effects = mongo.db(settings.db!).collection<ScenarioEffect>(EFFECTS);
    return {
      eventLog,
      // No transactions: business code runs without one (`publish` refuses a `tx`).
      transaction: (work) => work(undefined),
      async recordEffect(_tx, effect) {
        await effects.insertOne({ ...effect });
      },
      async effects() {
        const rows = await effects.find({}, { projection: { _id: 0 } }).toArray();
        return rows.map(({ eventId, key, seq, replica, attempt }) => ({
          eventId,
          key,
          seq,
          replica,
          attempt,
        }));
      },
      async close() {
        await mongo.close();
      },
    };
  },
};

export default composeBusPair(ferretdb, rabbitSide);
