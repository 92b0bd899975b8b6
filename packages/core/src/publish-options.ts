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
  /**
   * Delayed publish: the record is stored now (with `tx`, in the caller's
   * transaction) and the relay sends it once this time has come; a past time
   * means now. It lives in the outbox, not in a timer, so it survives a
   * restart. Needs the outbox: refused with `useOutbox: false`. In a unit of
   * work of an in-process (monolith) bus nothing runs inline: the record is
   * stored once the unit of work commits and handled when due, by this bus
   * too. A record not yet due holds back the later records of its ordering
   * key. Not with `delay`.
   */
  deliverAt?: Date;
  /** Delayed publish, relative: send after this many milliseconds (see {@link deliverAt}). */
  delay?: number;
}
