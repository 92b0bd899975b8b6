/// <reference lib="dom" />
// (The callbacks given to page.evaluate run in the browser.)
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleServer, Operations } from '../src/index.js';
import { failingService, PaymentRequested } from './helpers.js';

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
      // A name that resolves to the console's address: what a DNS-rebinding attacker arranges.
      '--host-resolver-rules=MAP rebind.test 127.0.0.1',
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
      await page.goto(server.loginUrl);
      // The token left the address bar at once (it stays in this tab's session storage).
      await expect.poll(() => page.evaluate(() => location.href)).toBe(`${server.url}/`);
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
    // A fresh Chromium profile's first page (fonts, caches) once took longer than the default 30 s in CI.
  }, 90_000);

  it('a page from another origin, or a rebound name, cannot requeue or purge', async () => {
    const { bus } = await failingService();
    const server = await createConsoleServer(bus);
    const attacker = await serveAttackerPage();
    const page = await browser.newPage();
    try {
      await bus.publish(new PaymentRequested({ orderId: 'o-7', amount: 7 }));
      await bus.drain();
      const operations = new Operations(bus);
      const [dead] = await operations.listInbox({ status: 'dead' });
      const body = JSON.stringify({ keys: [{ messageId: dead!.id, handler: dead!.handler }] });

      // 1. Cross-site: everything a page of another origin can send without the console's consent.
      await page.goto(attacker.url);
      const tries = await page.evaluate(
        async ({ consoleUrl, body }) => {
          const outcome = (p: Promise<Response>) =>
            p.then(
              (response) => `${response.type}:${response.status}`,
              (error: Error) => `blocked:${error.name}`,
            );
          const results = [
            // "Simple requests": no preflight, the browser sends them and hides the answer.
            await outcome(
              fetch(`${consoleUrl}/api/inbox/purge`, {
                method: 'POST',
                mode: 'no-cors',
                headers: { 'content-type': 'text/plain' },
                body,
              }),
            ),
            await outcome(
              fetch(`${consoleUrl}/api/inbox/requeue`, { method: 'POST', mode: 'no-cors', body }),
            ),
            // JSON needs a preflight the console never grants.
            await outcome(
              fetch(`${consoleUrl}/api/inbox/purge`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body,
              }),
            ),
          ];
          // A classic form post into a hidden frame.
          const frame = document.createElement('iframe');
          frame.name = 'sink';
          document.body.append(frame);
          const form = document.createElement('form');
          Object.assign(form, {
            method: 'POST',
            action: `${consoleUrl}/api/inbox/purge`,
            target: 'sink',
            enctype: 'text/plain',
          });
          const input = document.createElement('input');
          Object.assign(input, { name: body.slice(0, -2), value: '"}' });
          form.append(input);
          document.body.append(form);
          const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
          form.submit();
          await loaded;
          return results;
        },
        { consoleUrl: server.url, body },
      );
      expect(tries).toEqual(['opaque:0', 'opaque:0', 'blocked:TypeError']);
      expect(attacker.requests).toBeGreaterThan(0);

      // 2. DNS rebinding: a script whose origin is rebind.test:<console port>, so same-origin to the browser.
      const port = new URL(server.url).port;
      await page.goto(`http://rebind.test:${port}/`);
      const rebound = await page.evaluate(async (body) => {
        const response = await fetch('/api/inbox/purge', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        return response.status;
      }, body);
      expect(rebound).toBe(403);

      // The records stayed as they were.
      const after = await operations.listInbox({});
      expect(after.map((view) => [view.id, view.status, view.attempts])).toEqual([
        [dead!.id, 'dead', dead!.attempts],
      ]);
    } finally {
      await page.close();
      await attacker.close();
      await server.close();
      await bus.stop();
    }
  });
});

/** A plain page on another port of the same machine: another origin. */
async function serveAttackerPage(): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server: Server = createServer((_request, response) => {
    state.requests++;
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>cat pictures</title><body></body>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
