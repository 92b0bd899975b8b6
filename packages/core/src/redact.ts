import type { Logger } from './ports/logger.js';

/**
 * Removes credentials from text and errors before they leave Herald: in
 * messages, stacks, `cause` chains and any own string property a library put
 * on an error (Node's `ERR_INVALID_URL` keeps the whole URL in `input`).
 */

/** What a secret is replaced with. */
export const REDACTED = '***';

const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // scheme://user:password@host — the password may hold unencoded '@', so take the last '@' of the token.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`]*:)[^\s'"`]*@/gi, `$1${REDACTED}@`],
  // Connection-string style key=value pairs (Azure, ADO.NET, libpq, Mongo options).
  [
    /\b(SharedAccessKey|SharedAccessSignature|AccountKey|sig|password|passwd|pwd)=("[^"]*"|'[^']*'|[^;&\s'"`]*)/gi,
    `$1=${REDACTED}`,
  ],
  // JSON or inspected objects: password: 'x', "password":"x".
  [
    /(["']?\b(?:password|passwd|secret|sharedAccessKey|accessKey)["']?\s*:\s*)(["'`])(?:\\.|(?!\2).)*\2/gi,
    `$1$2${REDACTED}$2`,
  ],
];

/**
 * Replaces credentials in `text`: URL userinfo passwords, `SharedAccessKey=`,
 * `AccountKey=`, `password=`/`pwd=`, `password: '…'` — and, literally, every
 * string in `secrets` (the adapter's own password, which may appear decoded).
 */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 3) result = result.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/**
 * Redacts `error` in place — message, stack, every own string property and,
 * recursively, `cause`, `errors` (AggregateError) and nested plain objects —
 * and returns it, so `throw redactError(error)` keeps the error's class.
 * Strings come back redacted; anything else is returned as it is.
 */
export function redactError<T>(error: T, secrets: readonly string[] = []): T {
  return redactValue(error, secrets, new WeakSet(), 0) as T;
}

const MAX_DEPTH = 8;

function redactValue(
  value: unknown,
  secrets: readonly string[],
  seen: WeakSet<object>,
  depth: number,
): unknown {
  if (typeof value === 'string') return redactSecrets(value, secrets);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH || seen.has(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = redactValue(value[i], secrets, seen, depth + 1);
    return value;
  }
  const isError = value instanceof Error;
  if (!isError && !isPlainObject(value)) return value;
  const keys = new Set<string>(Object.keys(value));
  if (isError) for (const key of ['message', 'stack', 'cause', 'errors']) keys.add(key);
  for (const key of keys) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (!descriptor || !('value' in descriptor)) continue;
    const redacted = redactValue(descriptor.value, secrets, seen, depth + 1);
    if (redacted === descriptor.value) continue;
    if (descriptor.writable) (value as Record<string, unknown>)[key] = redacted;
    else if (descriptor.configurable) Object.defineProperty(value, key, { ...descriptor, value: redacted });
  }
  return value;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Wraps a logger so every message and context (errors with their causes
 * included) is redacted before it reaches `logger`; adapters wrap the
 * operator's logger once with the credentials they were given.
 */
export function redactingLogger(logger: Logger, secrets: readonly string[] = []): Logger {
  const at =
    (level: keyof Logger) =>
    (message: string, context?: Record<string, unknown>): void => {
      const safe = redactSecrets(message, secrets);
      if (context === undefined) logger[level](safe);
      else logger[level](safe, redactValue(context, secrets, new WeakSet(), 0) as Record<string, unknown>);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The password of a parsed connection URL, as written and decoded, for literal redaction. */
export function secretsOfUrl(url: URL): string[] {
  if (url.password === '') return [];
  let decoded = url.password;
  try {
    decoded = decodeURIComponent(url.password);
  } catch {
    // A malformed escape: the raw form is all there is.
  }
  return [...new Set([url.password, decoded])];
}
