import { ConfigurationError } from './errors.js';
import { redactSecrets } from './redact.js';

/** Options of {@link parseConnectionUrl}. */
export interface ConnectionUrlOptions {
  /** What the URL is for, as the error should name it (e.g. `RabbitMQ url`). */
  readonly name: string;
  /** Accepted schemes without the colon, e.g. `['amqp', 'amqps']`. */
  readonly protocols: readonly string[];
}

/**
 * Parses a connection URL up front, so a typo fails at configuration time with
 * a {@link ConfigurationError} that says what is wrong — never with the
 * password, and never later as a retriable connection error whose `cause`
 * carries the whole URL.
 */
export function parseConnectionUrl(value: unknown, options: ConnectionUrlOptions): URL {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(`${options.name} must be a non-empty string`);
  }
  const shown = redactSecrets(value);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (!scheme || !options.protocols.includes(scheme)) {
    throw new ConfigurationError(
      `${options.name} must start with ${options.protocols.map((p) => `${p}://`).join(' or ')}` +
        (scheme ? `, not ${scheme}://` : ''),
    );
  }
  const port = portOf(value);
  if (port !== undefined && port !== '' && (!/^\d+$/.test(port) || Number(port) > 65_535)) {
    throw new ConfigurationError(`${options.name} has an invalid port "${port}" (use 1-65535): ${shown}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Node's error keeps the whole input (password included) in its `input`: do not chain it.
    throw new ConfigurationError(`${options.name} is not a valid URL: ${shown}`);
  }
  if (url.hostname === '') throw new ConfigurationError(`${options.name} has no host: ${shown}`);
  return url;
}

/** The text after the host's `:` (undefined without one), read without the userinfo. */
function portOf(value: string): string | undefined {
  const authority = /^[^:]*:\/\/([^/?#]*)/.exec(value)?.[1] ?? '';
  const hostAndPort = authority.slice(authority.lastIndexOf('@') + 1);
  const match = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostAndPort);
  return match?.[1];
}
