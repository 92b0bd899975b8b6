import type { Monitor } from '../monitoring.js';
import type { Logger } from '../ports/logger.js';
import { Outage } from '../runtime/outage.js';

export { RELAPSE_WINDOW_MS } from '../runtime/outage.js';

/**
 * The consumer's view of its inbox store's health, shared by every delivery
 * (see {@link Outage}): deliveries wait out the store's outage instead of
 * cycling through retries.
 */
export class StoreOutage extends Outage {
  constructor(logger: Logger, monitor: Monitor, inbox: string) {
    super(logger, monitor, {
      where: `inbox "${inbox}"`,
      context: { inbox },
      started: 'Inbox store unavailable; deliveries wait and probe it with a growing pause',
      relapsed: 'Inbox store failed again right after it came back; deliveries wait',
      ended: 'Inbox store available again after {s} s; deliveries continue',
      relapseEnded: 'Inbox store available again after a {s} s relapse',
    });
  }
}
