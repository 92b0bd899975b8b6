import {
  ConfigurationError,
  createIntegrationEventBus,
  InProcessBroker,
  InProcessTransport,
} from '@herald/core';
import { capturingLogger, failureText } from '@herald/testkit';
import { PrismaPg } from '@prisma/adapter-pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { prismaEventLog } from '../src/index.js';
import { PrismaClient as PostgresClient } from './generated/postgresql/client/client.js';
import { eventually, fastOptions, openEngine, PG_URL } from './helpers.js';

const SECRET = 'not-the-password-7Qx9';
/** The real server and user, with a password it refuses (28P01). */
const wrongUrl = (() => {
  const url = new URL(PG_URL);
  url.password = SECRET;
  return url.toString();
})();

// The server must be up (this fails, never skips, when it is not): only the password is wrong.
beforeAll(async () => (await openEngine('postgresql')).close());

const prisma = new PostgresClient({ adapter: new PrismaPg({ connectionString: wrongUrl }) });
afterAll(() => prisma.$disconnect());

it('with wrong database credentials the bus is not ready, says why, and never shows the password', async () => {
  const logger = capturingLogger();
  const bus = createIntegrationEventBus({ service: 'unreadable-db', logger })
    .useTransport(new InProcessTransport({ broker: new InProcessBroker() }))
    .useEventLog(
      prismaEventLog(prisma, { provider: 'postgresql', logger, notify: { connectionString: wrongUrl } }),
    )
    .configure(fastOptions)
    .build();
  await bus.start();
  try {
    const health = await bus.health();
    expect(health).toMatchObject({ live: true, ready: false, eventLog: { reachable: false } });
    expect(health.reasons).toEqual([expect.stringMatching(/^event log cannot be read: /)]);
    expect(health.eventLog.detail).toMatch(/auth|password|credential|28P01/i);
    // The relay and the LISTEN connection fail too and log it; let them.
    await eventually(() => logger.lines.some((line) => line.level === 'error' || line.level === 'warn'));
    expect(failureText(health, logger.text())).not.toContain(SECRET);
  } finally {
    await bus.stop();
  }
  expect(logger.text()).not.toContain(SECRET);
});

it('a mistyped notify.connectionString is a configuration error that does not show the password', () => {
  let thrown: unknown;
  try {
    prismaEventLog(prisma, {
      provider: 'postgresql',
      notify: { connectionString: `postgres://herald:${SECRET}@127.0.0.1:99999/herald` },
    });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  expect((thrown as Error).message).toContain('invalid port "99999"');
  expect(failureText(thrown)).not.toContain(SECRET);
});
