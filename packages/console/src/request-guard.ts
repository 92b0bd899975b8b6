import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConfigurationError } from '@herald/core';

/** Host names a console bound to loopback answers to by default. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** Why a request was refused: HTTP status and a message that names the rule, never the token. */
export interface Refusal {
  readonly status: 401 | 403 | 415;
  readonly code: string;
  readonly message: string;
}

/**
 * The console's defences against other web pages and other machines:
 *
 * - `Host` must be one of the allowed host names, so a DNS-rebinding page
 *   (whose requests carry its own name) is refused;
 * - a browser's `Origin`, when sent, must be the console's own origin;
 * - every `/api` request needs `Authorization: Bearer <token>`, which a page
 *   of another origin cannot read or guess;
 * - state-changing requests must be `application/json`, which no cross-site
 *   "simple request" (form, `no-cors` fetch) can send without a preflight
 *   that this server never grants.
 */
export class RequestGuard {
  readonly token: string;
  readonly #token: Buffer;
  readonly #hosts: ReadonlySet<string>;

  constructor(options: { token?: string; allowedHosts?: readonly string[]; boundHost: string }) {
    if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 16)) {
      throw new ConfigurationError('createConsoleServer: "token" must be a string of at least 16 characters');
    }
    this.token = options.token ?? randomBytes(24).toString('base64url');
    this.#token = Buffer.from(this.token);
    const hosts = options.allowedHosts ?? defaultHosts(options.boundHost);
    this.#hosts = new Set(hosts.map((host) => host.toLowerCase()));
  }

  /** Checks `Host` and `Origin` (every route). Returns why it refuses, or undefined. */
  checkSource(request: IncomingMessage): Refusal | undefined {
    const host = request.headers.host;
    const name = host === undefined ? undefined : hostName(host);
    if (name === undefined || !this.#hosts.has(name)) {
      return { status: 403, code: 'HERALD_CONSOLE_HOST', message: 'Host is not one this console answers to' };
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) {
      return { status: 403, code: 'HERALD_CONSOLE_ORIGIN', message: 'Cross-origin requests are refused' };
    }
    return undefined;
  }

  /** Checks the bearer token (API routes). */
  checkToken(request: IncomingMessage): Refusal | undefined {
    const header = request.headers.authorization ?? '';
    const given = Buffer.from(/^Bearer (.+)$/i.exec(header)?.[1] ?? '');
    if (given.length !== this.#token.length || !timingSafeEqual(given, this.#token)) {
      return {
        status: 401,
        code: 'HERALD_CONSOLE_TOKEN',
        message: 'Missing or wrong console token: open the URL printed when the console started',
      };
    }
    return undefined;
  }

  /** Checks that a state-changing request is JSON. */
  checkJson(request: IncomingMessage): Refusal | undefined {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      return { status: 415, code: 'HERALD_CONSOLE_CONTENT_TYPE', message: 'Send application/json' };
    }
    return undefined;
  }
}

/** Loopback names, plus the bound address when it is a specific one. */
function defaultHosts(boundHost: string): string[] {
  const wildcard = boundHost === '0.0.0.0' || boundHost === '::' || boundHost === '';
  const bound = boundHost.includes(':') ? `[${boundHost}]` : boundHost;
  return wildcard ? LOOPBACK_HOSTS : [...LOOPBACK_HOSTS, bound];
}

/** `Host` without its port, lower case; `[::1]:8080` → `[::1]`. */
function hostName(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(0, lower.indexOf(']') + 1);
  const colon = lower.lastIndexOf(':');
  return colon >= 0 ? lower.slice(0, colon) : lower;
}
