/// <reference lib="dom" />
import { existsSync } from 'node:fs';
import { exportContracts } from '@herald/contracts';
import { createIntegrationEventBus, defineEvent, silentLogger } from '@herald/core';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createConsoleServer } from '../src/index.js';

const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: run bash tooling/services/up.sh chromium (or set HERALD_CHROMIUM)`,
    );
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
});
afterAll(async () => {
  await browser?.close();
});

const OrderPlaced = defineEvent('ordering.order-placed', {
  version: 2,
  schema: z.object({ orderId: z.string(), total: z.number() }),
  upcasters: { 1: (p: object) => ({ total: 0, ...p }) },
});
const AuditNoted = defineEvent('audit.noted');

describe('event catalog page (headless Chromium)', () => {
  it("shows each event with versions, schema, producers and consumers, this service's and its peers'", async () => {
    const bus = createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
      .publishes(OrderPlaced, AuditNoted)
      .handle(OrderPlaced, () => {}, { name: 'ordering.audit', group: 'audit' })
      .build();
    const notification = await exportContracts(
      createIntegrationEventBus({ service: 'notification', logger: silentLogger }).handle(
        OrderPlaced,
        () => {},
        {
          name: 'notification.mail',
        },
      ),
    );
    const server = await createConsoleServer(bus, { contracts: [notification] });
    try {
      // The catalog is behind the token like the rest of the API.
      expect((await fetch(`${server.url}/api/catalog`)).status).toBe(401);

      const page = await browser.newPage();
      // A stalled step fails with Playwright's error naming it, before the test's own limit.
      page.setDefaultTimeout(60_000);
      await page.goto(server.loginUrl);
      await page.getByTestId('tab-catalog').click();
      const rows = page.getByTestId('event');
      await expect.poll(() => rows.count()).toBe(2);
      const placed = page.locator('[data-testid="event"][data-name="ordering.order-placed"]');
      expect(await placed.getByTestId('event-versions').textContent()).toBe('v2upcasters v1→v2');
      expect(await placed.getByTestId('event-producers').textContent()).toBe('ordering (v2)');
      const consumers = await placed.getByTestId('event-consumers').textContent();
      expect(consumers).toContain('ordering: ordering.audit (ordering.audit, v2)');
      expect(consumers).toContain('notification: notification.mail (notification, v2)');
      expect(JSON.parse((await placed.getByTestId('event-schema').textContent()) ?? '')).toMatchObject({
        properties: { orderId: { type: 'string' }, total: { type: 'number' } },
        required: ['orderId', 'total'],
      });
      const audit = page.locator('[data-testid="event"][data-name="audit.noted"]');
      expect(await audit.getByTestId('event-schema').textContent()).toBe('no schema declared');
      expect(await audit.getByTestId('event-consumers').textContent()).toBe('');

      // Back to the records: the filters and the record table return.
      await page.getByTestId('tab-outbox').click();
      await expect.poll(() => page.getByTestId('status-filter').isVisible()).toBe(true);
    } finally {
      await server.close();
    }
    // As the console test's: a headless Chromium on a loaded 2-core CI machine (every package's
    // engines busy at once) took over 30 s for what takes under 1 s alone.
  }, 90_000);
});
