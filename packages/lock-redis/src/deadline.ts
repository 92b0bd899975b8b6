import { DeadlineExceeded } from './errors.js';

/**
 * Races `promise` against a timer. The loser is not cancelled (Redis commands
 * cannot be), so its later rejection is swallowed here instead of surfacing
 * as an unhandled rejection.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  promise.catch(() => undefined);
  if (ms <= 0) return Promise.reject(new DeadlineExceeded(what, 0));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(what, Math.round(ms))), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
