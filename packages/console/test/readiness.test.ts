import {
  createIntegrationEventBus,
  InProcessBroker,
  InProcessTransport,
  memoryEventLog,
  silentLogger,
} from '@herald/core';
import { expect, it } from 'vitest';
import { createConsoleServer } from '../src/index.js';

it('/readyz answers 503 with the reason, without the password, while the event log cannot be read', async () => {
  const log = memoryEventLog();
  // The store as it behaves with wrong credentials (the real-PostgreSQL case is in outbox-prisma's tests).
  log.outbox.backlog = async () => {
    throw new Error(
      'connect to postgres://app:hunter2-secret@db:5432/x failed: password authentication failed',
    );
  };
  const bus = createIntegrationEventBus({ service: 'readiness', logger: silentLogger })
    .useTransport(new InProcessTransport({ broker: new InProcessBroker() }))
    .useEventLog(log)
    .build();
  await bus.start();
  const server = await createConsoleServer(bus);
  try {
    const response = await fetch(`${server.url}/readyz`);
    const text = await response.text();
    expect(response.status).toBe(503);
    expect(JSON.parse(text).reasons).toEqual([expect.stringContaining('event log cannot be read')]);
    expect(text).not.toContain('hunter2-secret');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  } finally {
    await server.close();
    await bus.stop();
  }
});
