/**
 * What travels: the same fields are stored in the outbox row and carried as
 * broker headers plus body, so a message can be followed from the business
 * transaction to the handler.
 */
export interface Envelope<P = unknown> {
  /** UUID v7 (time ordered). Also the broker message id, for broker-side dedup. */
  readonly id: string;
  /** Stable event name (see `EventType.eventName`). */
  readonly name: string;
  /** Payload schema version. */
  readonly version: number;
  /** ISO-8601 instant the event was created. */
  readonly occurredAt: string;
  /** Name of the publishing service. */
  readonly source: string;
  /** Groups every message caused by one original request. */
  readonly correlationId?: string;
  /** Id of the message whose handling caused this one. */
  readonly causationId?: string;
  readonly tenantId?: string;
  /** W3C trace context. */
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** Messages with the same key are delivered and handled in order. */
  readonly orderingKey?: string;
  /** Position among messages of one outbox (set by the outbox store; increasing per key). */
  readonly sequence?: number;
  /** Free-form application headers (string values). */
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: P;
}

/** Fields a publisher may set per message. */
export interface EnvelopeOverrides {
  correlationId?: string;
  causationId?: string;
  tenantId?: string;
  traceparent?: string;
  tracestate?: string;
  orderingKey?: string;
  headers?: Record<string, string>;
  /** Force an id (idempotent re-publishing); must be a UUID. */
  id?: string;
}
