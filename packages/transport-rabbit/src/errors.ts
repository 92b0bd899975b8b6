import { describeError, TransportError } from '@herald/core';

/** A publish that failed in amqplib, as the retriable `TransportError` callers expect. */
export function asTransportError(error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  return new TransportError(`RabbitMQ publish failed: ${describeError(error)}`, {
    cause: error,
    retriable: true,
  });
}

/** Raised for every wait on a connection that was stopped on purpose: retrying cannot help. */
export function stoppedError(): TransportError {
  return new TransportError('The RabbitMQ transport is stopped', { retriable: false });
}
