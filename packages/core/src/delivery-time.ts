import { ConfigurationError } from './errors.js';
import type { PublishOptions } from './publish-options.js';

/**
 * When a delayed publish (`deliverAt` or `delay`) is due, or undefined for an
 * ordinary publish. Throws a {@link ConfigurationError} for both at once, a
 * non-finite or negative delay, or an invalid date. A past time is kept as is:
 * the record is due at once.
 */
export function deliveryTimeOf(options: PublishOptions, now = Date.now()): Date | undefined {
  const { deliverAt, delay } = options;
  if (deliverAt !== undefined && delay !== undefined) {
    throw new ConfigurationError('publish() takes deliverAt or delay, not both');
  }
  if (deliverAt !== undefined) {
    if (!(deliverAt instanceof Date) || !Number.isFinite(deliverAt.getTime())) {
      throw new ConfigurationError('deliverAt must be a valid Date');
    }
    return new Date(deliverAt.getTime());
  }
  if (delay !== undefined) {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new ConfigurationError(
        `delay must be a finite number of milliseconds >= 0, got ${String(delay)}`,
      );
    }
    return new Date(now + delay);
  }
  return undefined;
}
