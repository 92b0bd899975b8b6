import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleServer } from '../src/index.js';
import { failingService, PaymentRequested } from './fixture.js';

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
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});

describe('web console (headless Chromium)', () => {
  it('lists a dead-lettered event, re-publishes it, and sees it handled', async () => {
    const { bus, gateway, handled } = await failingService();
    const server = await createConsoleServer(bus);
    try {
      await bus.publish(new PaymentRequested({ orderId: 'o-42', amount: 99 }));
      await bus.drain();

      const page = await browser.newPage();
      await page.goto(server.url);
      await page.getByTestId('tab-inbox').click();
      await page.getByTestId('status-filter').selectOption('dead');
      const row = page.getByTestId('row');
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.getByTestId('status').textContent()).toBe('dead');
      expect(await row.textContent()).toContain('payment gateway unreachable');
      // HERALD_UPDATE_SCREENSHOTS=1 refreshes the README's picture; otherwise it goes to a temp file.
      const shot = process.env.HERALD_UPDATE_SCREENSHOTS
        ? join(import.meta.dirname, '../docs/console.png')
        : join(tmpdir(), `herald-console-${process.pid}.png`);
      expect((await page.screenshot({ path: shot, fullPage: true })).byteLength).toBeGreaterThan(1000);

      gateway.up = true; // the operator fixed the cause
      await row.getByTestId('requeue').click();
      await expect.poll(async () => page.getByTestId('message').textContent()).toBe('Re-published 1');
      await bus.drain();
      expect(handled).toEqual(['o-42']);

      await page.getByTestId('status-filter').selectOption('processed');
      await expect.poll(() => page.getByTestId('row').count()).toBe(1);
      expect(await page.getByTestId('row').getByTestId('status').textContent()).toBe('processed');

      const ready = await page.request.get(`${server.url}/readyz`);
      expect(ready.status()).toBe(200);
      expect((await ready.json()).transport.name).toBe('in-process');
    } finally {
      await server.close();
      await bus.stop();
    }
  });
});
