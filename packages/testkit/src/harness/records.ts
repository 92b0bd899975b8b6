import type { BusEventMap, Envelope, WireMessage } from '@herald/core';

/** A message a bus sent through its transport (from the outbox, or directly). */
export interface PublishedMessage<P = unknown> {
  /** The publishing service (`builder.service`). */
  readonly service: string;
  /** The event's name. */
  readonly eventName: string;
  /** The message id (the envelope's `id`). */
  readonly messageId: string;
  /** `outbox` when relayed from the outbox, `direct` for `useOutbox: false`. */
  readonly source: BusEventMap['sent']['source'];
  /** The decoded payload (undefined when it could not be decoded). */
  readonly payload: P;
  /** The decoded envelope (undefined when it could not be decoded). */
  readonly envelope: Envelope<P> | undefined;
  /** Exactly what went to the transport. */
  readonly message: WireMessage;
}

/** A handling that finished successfully. */
export interface ConsumedMessage<P = unknown> {
  /** The consuming service. */
  readonly service: string;
  /** The event's name. */
  readonly eventName: string;
  /** The message id (the envelope's `id`). */
  readonly messageId: string;
  /** The handler's stable name. */
  readonly handler: string;
  /** `inbox` when handled through the inbox (a delivery or a stored retry), `direct` when run inline by the publishing bus. */
  readonly source: BusEventMap['received']['source'];
  /** The payload the handler received (`envelope.payload`). */
  readonly payload: P;
  /** The handled message's envelope. */
  readonly envelope: Envelope<P>;
}

/** A message a bus gave up on, with the reason. */
export type DeadLetteredMessage = BusEventMap['dead-lettered'] & {
  /** The service (`builder.service`) whose bus emitted the event. */
  readonly service: string;
};

/** A failed publish or handler attempt (retried or not). */
export type FailedAttempt = BusEventMap['failed'] & {
  /** The service (`builder.service`) whose bus emitted the event. */
  readonly service: string;
};

/** A duplicate delivery the inbox absorbed. */
export type AbsorbedDuplicate = BusEventMap['duplicate'] & {
  /** The service (`builder.service`) whose bus emitted the event. */
  readonly service: string;
};

/** An infrastructure error a background loop reported (chaos faults show up here as `ChaosError`). */
export type BusError = BusEventMap['error'] & {
  /** The service (`builder.service`) whose bus emitted the event. */
  readonly service: string;
};
