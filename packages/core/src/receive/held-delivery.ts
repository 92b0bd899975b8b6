import type { InboxStore } from '../ports/inbox-store.js';
import type { InboxWork } from './inbox-batcher.js';

/** The `lastError` of an entry stored without running its handler. */
export const HELD_REASON = 'Held: processing is disabled for this inbox (processing: false); not run yet';

/** How storing a held delivery ended. */
export type HeldOutcome = 'held' | 'duplicate' | 'busy';

/**
 * ABP's `IsProcessingEnabled: false`: the delivery is recorded in the inbox
 * without running its handler — as an entry due now with no attempt counted,
 * so the retry processor of a replica (or a restart) with processing enabled
 * runs it, in arrival order per key. A message already in the inbox stays a
 * duplicate.
 */
export async function holdDelivery(
  inbox: InboxStore,
  work: InboxWork,
  leaseMs: number,
  now: Date = new Date(),
): Promise<HeldOutcome> {
  const { handler, envelope, message } = work;
  const orderingKey = envelope.orderingKey ?? null;
  const begun = await inbox.tryBegin({
    messageId: envelope.id,
    handler: handler.name,
    eventName: envelope.name,
    orderingKey,
    leaseMs,
    now,
  });
  if (begun !== 'begun') return begun;
  await inbox.fail(
    {
      messageId: envelope.id,
      handler: handler.name,
      eventName: envelope.name,
      orderingKey,
      message,
      attempts: 0,
      error: HELD_REASON,
      nextAttemptAt: now,
    },
    now,
  );
  return 'held';
}
