import { describeError, HeraldError, TransportError } from '@herald/core';

/** No broker of `brokers` answered within the start timeout (wrong address, broker down, firewall). */
export class KafkaBrokerUnreachableError extends TransportError {
  /** The bootstrap brokers (`host:port`) that were tried. */
  readonly brokers: readonly string[];

  constructor(brokers: readonly string[], timeoutMs: number, options?: { cause?: unknown }) {
    super(
      `No Kafka broker of [${brokers.join(', ')}] could be reached within ${timeoutMs} ms` +
        (options?.cause instanceof Error ? ` (${options.cause.message})` : ''),
      { ...options, retriable: true },
    );
    this.brokers = brokers;
  }
}

/** Topics a publish or subscription needs do not exist and `autoCreateTopics` is off. */
export class KafkaTopicMissingError extends TransportError {
  /** The names of the missing topics. */
  readonly topics: readonly string[];

  constructor(topics: readonly string[]) {
    super(
      `Kafka topic${topics.length === 1 ? '' : 's'} ${topics.map((t) => `"${t}"`).join(', ')} ` +
        `${topics.length === 1 ? 'does' : 'do'} not exist and autoCreateTopics is off: create ` +
        `${topics.length === 1 ? 'it' : 'them'} (or enable autoCreateTopics)`,
      // An operator may create the topic later, so the relay's retries can still succeed.
      { retriable: true },
    );
    this.topics = topics;
  }
}

/** Turns anything kafkajs throws into a `TransportError` that keeps kafkajs' retriable verdict. */
export function asTransportError(error: unknown, doing: string): HeraldError {
  if (error instanceof HeraldError) return error;
  // kafkajs marks "retries exceeded" non-retriable: kafkajs itself gave up. For the bus, whose own
  // retries and outage handling come next, what counts is whether the error underneath passes
  // (a refused connection while the broker restarts does).
  const { name, cause } = (error ?? {}) as { name?: string; cause?: unknown };
  const underlying = name === 'KafkaJSNumberOfRetriesExceeded' && cause ? cause : error;
  const retriable = (underlying as { retriable?: unknown } | null)?.retriable;
  return new TransportError(`Kafka ${doing} failed: ${describeError(error)}`, {
    cause: error,
    retriable: retriable !== false,
  });
}

/** SASL refused, or the listener does not speak the configured SASL at all: retrying cannot help. */
export function isSaslFailure(error: unknown): boolean {
  const { name, type } = (error ?? {}) as { name?: string; type?: string };
  return (
    name === 'KafkaJSSASLAuthenticationError' ||
    (name === 'KafkaJSProtocolError' &&
      (type === 'ILLEGAL_SASL_STATE' || type === 'UNSUPPORTED_SASL_MECHANISM'))
  );
}
