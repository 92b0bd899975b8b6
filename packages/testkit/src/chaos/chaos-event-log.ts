import type { EventLog } from '@herald/core';
import { ChaosInboxStore } from './chaos-inbox.js';
import { ChaosOutboxStore } from './chaos-outbox.js';
import type { ChaosOptions } from './options.js';

/**
 * Wraps the stores of an event log with the store faults of `options`
 * (`crashBetweenPublishAndMark` on the outbox, `crashAfterHandler` on the
 * inbox). Use it on your own event log when testing with the harness's chaos
 * mode: `builder.useEventLog(chaosEventLog(prismaEventLog(prisma), chaos))`.
 */
export function chaosEventLog(log: EventLog, options: ChaosOptions): EventLog {
  return {
    ...(log.outbox
      ? {
          outbox: options.crashBetweenPublishAndMark ? new ChaosOutboxStore(log.outbox, options) : log.outbox,
        }
      : {}),
    ...(log.inbox
      ? { inbox: options.crashAfterHandler ? new ChaosInboxStore(log.inbox, options) : log.inbox }
      : {}),
  };
}
