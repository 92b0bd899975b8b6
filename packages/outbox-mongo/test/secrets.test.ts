import { createIntegrationEventBus, InProcessBroker, InProcessTransport } from '@herald/core';
import { capturingLogger, failureText } from '@herald/testkit';
import { MongoClient } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { mongoEventLog } from '../src/index.js';
import { connect, uniqueDbName } from './helpers.js';

const SECRET = 'm0ngo-Wr0ng-pa55';

describe('the MongoDB password never reaches an error, the health report or a log', () => {
  beforeAll(async () => {
    // The engine must be up (fails, never skips, when it is not): only the URL under test is bad.
    await (await connect()).close();
  });

  it('a server that does not answer: init() fails, the bus is not ready, nothing shows the password', async () => {
    const client = new MongoClient(`mongodb://app:${SECRET}@127.0.0.1:1/?authSource=admin`, {
      serverSelectionTimeoutMS: 500,
      connectTimeoutMS: 500,
    });
    const logger = capturingLogger();
    const log = mongoEventLog(client, { db: uniqueDbName('secrets'), transactions: 'off', logger });
    const initError = await log.init().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(initError).toBeInstanceOf(Error);

    const bus = createIntegrationEventBus({ service: 'mongo-secrets', logger })
      .useTransport(new InProcessTransport({ broker: new InProcessBroker() }))
      .useEventLog(log)
      .configure({ pollingInterval: 100 })
      .build();
    const startError = await bus.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    try {
      const health = await bus.health();
      expect(health.ready).toBe(false);
      expect(failureText([initError, startError, health], logger.text())).not.toContain(SECRET);
    } finally {
      await bus.stop().catch(() => undefined);
      await client.close();
    }
    expect(logger.text()).not.toContain(SECRET);
  }, 30_000);
});
