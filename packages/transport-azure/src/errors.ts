import { TransportError } from '@herald/core';

/** Whether the SDK marked an error as worth retrying (connection trouble, throttling, timeouts). */
export function isRetriable(error: unknown): boolean {
  if (error instanceof TransportError) return error.retriable;
  const flag = (error as { retryable?: unknown } | undefined)?.retryable;
  return typeof flag === 'boolean' ? flag : true;
}
