import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { catalogEntries, exportContracts } from '@herald/contracts';
import { HeraldError, type InboxKey, type IntegrationEventBus } from '@herald/core';
import { Operations } from './operations.js';
import { CONSOLE_PAGE } from './page.js';
import { type Refusal, RequestGuard } from './request-guard.js';

/** Options of {@link createConsoleServer}. */
export interface ConsoleServerOptions {
  /** Port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Interface to bind; default 127.0.0.1. */
  readonly host?: string;
  /**
   * Bearer token the API demands (at least 16 characters). Default: a random
   * one per start, shown once in {@link ConsoleServer.loginUrl}.
   */
  readonly token?: string;
  /**
   * Host names (as in the `Host` header, without port; IPv6 in brackets) the
   * console answers to. Default: `localhost`, `127.0.0.1`, `[::1]` and the
   * bound address. Add the name you reach it by through a proxy.
   */
  readonly allowedHosts?: readonly string[];
  /** Relay lag above which `/readyz` reports not ready. Default 60 s. */
  readonly maxRelayLagMs?: number;
  /**
   * Contract documents of other services (`herald contracts export`), so the
   * event catalog shows their producers and consumers beside this service's.
   */
  readonly contracts?: readonly unknown[];
}

/** A running console. */
export interface ConsoleServer {
  /** Base URL the console listens on (`http://host:port`, IPv6 hosts in brackets), without the token. */
  readonly url: string;
  /** The API's bearer token. */
  readonly token: string;
  /**
   * `url` with the token in its fragment (`#token=…`): open it once; the page
   * moves the token into its session storage and removes it from the address
   * bar. Fragments never reach servers, proxies' logs or `Referer` headers.
   */
  readonly loginUrl: string;
  /** The underlying Node HTTP server (for example to read its address or add listeners). */
  readonly server: Server;
  /** Stops listening; resolves once the open connections have ended. */
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

/**
 * Serves the web console and its JSON API for a bus, plus `/healthz`
 * (liveness) and `/readyz` (readiness) for Kubernetes probes.
 *
 * API: `GET /api/outbox|inbox?status=&event=&handler=&log=&before=&limit=`,
 * `GET /api/catalog` (the event catalog, from the same data as `herald contracts export`),
 * `POST /api/outbox/requeue {ids}`, `POST /api/inbox/requeue {keys}`,
 * `POST /api/outbox/purge {ids}`, `POST /api/inbox/purge {keys}`.
 *
 * The API needs `Authorization: Bearer <token>`; every route but the probes
 * checks `Host` and `Origin`; `POST`s must be `application/json` (see
 * `RequestGuard`).
 */
export async function createConsoleServer(
  bus: IntegrationEventBus,
  options: ConsoleServerOptions = {},
): Promise<ConsoleServer> {
  const operations = new Operations(bus);
  const boundHost = options.host ?? '127.0.0.1';
  const guard = new RequestGuard({
    boundHost,
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.allowedHosts !== undefined ? { allowedHosts: options.allowedHosts } : {}),
  });
  const server = createServer((request, response) => {
    route(bus, operations, guard, options, request, response).catch((error: unknown) => {
      const status = error instanceof HeraldError ? 400 : 500;
      send(response, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, boundHost, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  return {
    url,
    token: guard.token,
    loginUrl: `${url}/#token=${encodeURIComponent(guard.token)}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function route(
  bus: IntegrationEventBus,
  operations: Operations,
  guard: RequestGuard,
  options: ConsoleServerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://console');
  const path = url.pathname;
  const isProbe = request.method === 'GET' && (path === '/healthz' || path === '/readyz');
  // Probes stay open (kubelets send the pod IP as Host; they change nothing and show no secrets).
  if (!isProbe) {
    const refused =
      guard.checkSource(request) ??
      (path.startsWith('/api/') ? guard.checkToken(request) : undefined) ??
      (request.method !== 'GET' && request.method !== 'HEAD' ? guard.checkJson(request) : undefined);
    if (refused) return refuse(response, refused);
  }
  if (request.method === 'GET' && path === '/') {
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      // No framing (clickjacking), no Referer leaving the page, nothing cached.
      'content-security-policy': "frame-ancestors 'none'",
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    response.end(CONSOLE_PAGE);
    return;
  }
  if (isProbe) {
    const health = await bus.health(
      options.maxRelayLagMs !== undefined ? { maxRelayLagMs: options.maxRelayLagMs } : {},
    );
    const ok = path === '/healthz' ? health.live : health.ready;
    return send(response, ok ? 200 : 503, health);
  }
  if (request.method === 'GET' && path === '/api/catalog') {
    const own = await exportContracts(bus);
    return send(response, 200, catalogEntries([own, ...(options.contracts ?? [])]));
  }
  const list = /^\/api\/(outbox|inbox)$/.exec(path);
  if (request.method === 'GET' && list) {
    const query = {
      ...(url.searchParams.get('status') ? { status: url.searchParams.get('status')! } : {}),
      ...(url.searchParams.get('event') ? { eventName: url.searchParams.get('event')! } : {}),
      ...(url.searchParams.get('handler') ? { handler: url.searchParams.get('handler')! } : {}),
      ...(url.searchParams.get('log') ? { log: url.searchParams.get('log')! } : {}),
      ...(url.searchParams.get('before') ? { before: parseInstant(url.searchParams.get('before')!) } : {}),
      limit: Math.min(Number(url.searchParams.get('limit') ?? 100) || 100, 1000),
    };
    return send(
      response,
      200,
      list[1] === 'outbox' ? await operations.listOutbox(query) : await operations.listInbox(query),
    );
  }
  const action = /^\/api\/(outbox|inbox)\/(requeue|purge)$/.exec(path);
  if (request.method === 'POST' && action) {
    const body = (await readJson(request)) as { ids?: string[]; keys?: InboxKey[]; log?: string };
    const [, kind, verb] = action;
    let changed: number;
    if (kind === 'outbox') {
      const ids = (body.ids ?? []).filter((id) => typeof id === 'string');
      changed =
        verb === 'requeue'
          ? await operations.requeueOutbox(ids, body.log)
          : await operations.purgeOutbox(ids, body.log);
    } else {
      const keys = (body.keys ?? []).filter(
        (key) => typeof key?.messageId === 'string' && typeof key?.handler === 'string',
      );
      changed =
        verb === 'requeue'
          ? await operations.requeueInbox(keys, body.log)
          : await operations.purgeInbox(keys, body.log);
    }
    return send(response, 200, { changed });
  }
  send(response, 404, { error: 'Not found' });
}

function parseInstant(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new HeraldError('HERALD_BAD_REQUEST', `"${text}" is not a date`);
  return date;
}

function refuse(response: ServerResponse, refusal: Refusal): void {
  send(response, refusal.status, { error: refusal.message, code: refusal.code });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
  });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY) throw new HeraldError('HERALD_BAD_REQUEST', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HeraldError('HERALD_BAD_REQUEST', 'Request body is not JSON');
  }
}
