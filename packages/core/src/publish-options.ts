import type { EnvelopeOverrides } from './envelope.js';

/** Options of `bus.publish()`. */
export interface PublishOptions extends Omit<EnvelopeOverrides, 'orderingKey'> {
  /**
   * Messages with the same key are delivered and handled in order. A function
   * gives each event of a multi-event publish its own key (one outbox insert).
   */
  orderingKey?: string | ((event: object) => string | undefined);
  /**
   * The caller's database transaction (e.g. the `tx` of `prisma.$transaction`):
   * the outbox record commits with it, or not at all.
   */
  tx?: unknown;
  /** `false` sends straight to the transport, bypassing the outbox (ABP's `useOutbox`). */
  useOutbox?: boolean;
  /**
   * Inside a unit of work, events are written when it completes (default,
   * ABP's behaviour). `false` writes them at once, still in its transaction.
   */
  onUnitOfWorkComplete?: boolean;
}
