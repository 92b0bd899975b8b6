import type { HeraldOptions } from './options.js';

/** What happens after a persisted failure: the next attempt's time, or a dead letter. */
export interface RetryDecision {
  /** Persisted failures so far, this one included. */
  readonly attempts: number;
  /** True when the retries are used up: the record becomes a dead letter. */
  readonly dead: boolean;
  /** When to try again; `null` when dead. */
  readonly nextAttemptAt: Date | null;
}

/**
 * The one retry policy of the relay, the consumer and the inbox retry
 * processor: after `previousAttempts` persisted failures, one more failed.
 */
export function decideRetry(
  previousAttempts: number,
  options: Readonly<HeraldOptions>,
  now = new Date(),
): RetryDecision {
  const attempts = previousAttempts + 1;
  const dead = attempts > options.maxRetryTimes;
  const nextAttemptAt = dead ? null : new Date(now.getTime() + options.retryBackoff(attempts, options));
  return { attempts, dead, nextAttemptAt };
}
