/**
 * Every error Herald raises is a `HeraldError` with a stable `code`, so callers
 * can branch on `error.code` instead of parsing messages, and dead letters can
 * record why a message was rejected.
 */
export class HeraldError extends Error {
  /** Stable, machine-readable identifier of the failure. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The builder or `.configure()` received an invalid option. */
export class ConfigurationError extends HeraldError {
  constructor(message: string) {
    super('HERALD_CONFIGURATION', message);
  }
}

/** An event payload did not match the event's schema (on publish or on receive). */
export class SchemaValidationError extends HeraldError {
  /** The event whose payload failed validation. */
  readonly eventName: string;
  /** The schema's issues, as its Standard Schema validator reported them (all of them; the message names the first five). */
  readonly issues: ReadonlyArray<{
    /** What is wrong, in the schema library's words. */
    message: string;
    /** Where in the payload (property names and array indexes); absent for the payload itself. */
    path?: ReadonlyArray<PropertyKey>;
  }>;

  constructor(
    eventName: string,
    issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<PropertyKey> }>,
  ) {
    const detail = issues
      .slice(0, 5)
      .map((issue) =>
        issue.path?.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message,
      )
      .join('; ');
    super('HERALD_SCHEMA_VALIDATION', `Event "${eventName}" does not match its schema: ${detail}`);
    this.eventName = eventName;
    this.issues = issues;
  }
}

/** A message body or its headers could not be decoded into an envelope. */
export class MalformedMessageError extends HeraldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('HERALD_MALFORMED_MESSAGE', message, options);
  }
}

/** A payload exceeded `maxPayloadBytes` when encoding or decoding. */
export class PayloadTooLargeError extends HeraldError {
  /** The payload's encoded size in bytes. */
  readonly size: number;
  /** The limit it exceeded (`maxPayloadBytes`) in bytes. */
  readonly limit: number;

  constructor(size: number, limit: number) {
    super('HERALD_PAYLOAD_TOO_LARGE', `Payload of ${size} bytes exceeds the limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** A message arrived for an event name this service has no handler or definition for. */
export class UnknownEventError extends HeraldError {
  /** The event name the message carried. */
  readonly eventName: string;

  constructor(eventName: string) {
    super('HERALD_UNKNOWN_EVENT', `No handler is registered for event "${eventName}"`);
    this.eventName = eventName;
  }
}

/** A message carries an event version that cannot be read by this service. */
export class UnsupportedEventVersionError extends HeraldError {
  constructor(eventName: string, version: number, message: string) {
    super('HERALD_UNSUPPORTED_VERSION', `Event "${eventName}" version ${version}: ${message}`);
  }
}

/** A handler did not settle within `handlerTimeout`. */
export class HandlerTimeoutError extends HeraldError {
  constructor(handler: string, timeoutMs: number) {
    super('HERALD_HANDLER_TIMEOUT', `Handler "${handler}" did not finish within ${timeoutMs} ms`);
  }
}

/** An operation was attempted while the bus is not running (or already stopping). */
export class BusStateError extends HeraldError {
  constructor(message: string) {
    super('HERALD_BUS_STATE', message);
  }
}

/** A transport could not publish; `retriable` tells the relay whether retrying can help. */
export class TransportError extends HeraldError {
  /** Whether trying again may succeed (a lost connection) or cannot (bad credentials, a refused message). Default true. */
  readonly retriable: boolean;

  constructor(message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super('HERALD_TRANSPORT', message, options);
    this.retriable = options?.retriable ?? true;
  }
}

/**
 * A store refused a claim or mark because a newer holder of the same lock
 * already presented a higher fencing token: this relay lost its lock (a pause
 * past the TTL, a Redis restart) and must stop the batch it is working on.
 * Nothing of the refused call was written.
 */
export class StaleFencingTokenError extends HeraldError {
  /** The lock key the token belongs to. */
  readonly lock: string;
  /** The refused token. */
  readonly token: bigint;
  /** The newest token the store has seen for `lock`. */
  readonly newest: bigint;

  constructor(lock: string, token: bigint, newest: bigint) {
    super(
      'HERALD_STALE_FENCING_TOKEN',
      `Fencing token ${token} of lock "${lock}" is older than ${newest}, the newest the store has seen: the lock was lost`,
    );
    this.lock = lock;
    this.token = token;
    this.newest = newest;
  }
}

/** Throws {@link StaleFencingTokenError} when `newest` (the store's) is above `fence.token`. */
export function assertFenceCurrent(fence: { lock: string; token: bigint }, newest: bigint | null): void {
  if (newest !== null && newest > fence.token)
    throw new StaleFencingTokenError(fence.lock, fence.token, newest);
}

/** Turns anything thrown into a short, storable description. */
export function describeError(error: unknown): string {
  if (error instanceof HeraldError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return `Non-error thrown: ${JSON.stringify(error)}`;
  } catch {
    return `Non-error thrown: ${String(error)}`;
  }
}
