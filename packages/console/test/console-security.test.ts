import { request } from 'node:http';
import { ConfigurationError } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, createConsoleServer, Operations } from '../src/index.js';
import { failingService, PaymentRequested } from './helpers.js';

/** One raw HTTP request with exactly the headers given (fetch would not let a test forge Host). */
function call(
  server: ConsoleServer,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: { error?: string; code?: string; changed?: number } }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

let service: Awaited<ReturnType<typeof failingService>>;
let server: ConsoleServer;
let host: string;
let purgeBody: string;

beforeAll(async () => {
  service = await failingService();
  server = await createConsoleServer(service.bus);
  host = new URL(server.url).host;
  await service.bus.publish(new PaymentRequested({ orderId: 'o-1', amount: 1 }));
  await service.bus.drain();
  const [dead] = await new Operations(service.bus).listInbox({ status: 'dead' });
  purgeBody = JSON.stringify({ keys: [{ messageId: dead!.id, handler: dead!.handler }] });
});
afterAll(async () => {
  await server?.close();
  await service?.bus.stop();
});

async function deadCount(): Promise<number> {
  return (await new Operations(service.bus).listInbox({ status: 'dead' })).length;
}

const json = { 'content-type': 'application/json' };

describe('console API defences', () => {
  it('refuses an API call without the token, or with a wrong one', async () => {
    const missing = await call(server, { path: '/api/inbox', headers: { host } });
    expect(missing).toMatchObject({ status: 401, body: { code: 'HERALD_CONSOLE_TOKEN' } });
    const wrong = await call(server, {
      method: 'POST',
      path: '/api/inbox/purge',
      headers: { host, ...json, authorization: `Bearer ${'x'.repeat(server.token.length)}` },
      body: purgeBody,
    });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(server.token);
    expect(await deadCount()).toBe(1);
  });

  it('refuses a Host it does not answer to (DNS rebinding), even with the token', async () => {
    const rebound = await call(server, {
      method: 'POST',
      path: '/api/inbox/purge',
      headers: {
        host: `attacker.example:${new URL(server.url).port}`,
        ...json,
        authorization: `Bearer ${server.token}`,
      },
      body: purgeBody,
    });
    expect(rebound).toMatchObject({ status: 403, body: { code: 'HERALD_CONSOLE_HOST' } });
    const page = await call(server, { path: '/', headers: { host: 'attacker.example' } });
    expect(page.status).toBe(403);
    expect(await deadCount()).toBe(1);
  });

  it('refuses another Origin', async () => {
    const cross = await call(server, {
      method: 'POST',
      path: '/api/inbox/purge',
      headers: { host, origin: 'http://attacker.example', ...json, authorization: `Bearer ${server.token}` },
      body: purgeBody,
    });
    expect(cross).toMatchObject({ status: 403, body: { code: 'HERALD_CONSOLE_ORIGIN' } });
    expect(await deadCount()).toBe(1);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined])(
    'refuses a state-changing request of content type %s',
    async (type) => {
      const result = await call(server, {
        method: 'POST',
        path: '/api/inbox/purge',
        headers: { host, authorization: `Bearer ${server.token}`, ...(type ? { 'content-type': type } : {}) },
        body: purgeBody,
      });
      expect(result).toMatchObject({ status: 415, body: { code: 'HERALD_CONSOLE_CONTENT_TYPE' } });
      expect(await deadCount()).toBe(1);
    },
  );

  it('serves the probes to anyone (kubelets send the pod IP as Host), but they change nothing', async () => {
    const probe = await call(server, { path: '/readyz', headers: { host: '10.1.2.3:8080' } });
    expect(probe.status).toBe(200);
  });

  it('accepts the same-origin JSON call with the token (the one the page makes)', async () => {
    const listed = await call(server, {
      path: '/api/inbox?status=dead',
      headers: { host, authorization: `Bearer ${server.token}` },
    });
    expect(listed.status).toBe(200);
    expect(server.loginUrl).toBe(`${server.url}/#token=${encodeURIComponent(server.token)}`);
  });

  it('rejects a short operator token', async () => {
    await expect(createConsoleServer(service.bus, { token: 'short' })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
  });
});
