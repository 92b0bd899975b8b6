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
  /** The tenant the event belongs to; absent for the host (no tenant). */
  readonly tenantId?: string;
  /** W3C trace context. */
  readonly traceparent?: string;
  /** W3C trace state that goes with `traceparent`. */
  readonly tracestate?: string;
  /** Messages with the same key are delivered and handled in order. */
  readonly orderingKey?: string;
  /** Position among messages of one outbox (set by the outbox store; increasing per key). */
  readonly sequence?: number;
  /** Free-form application headers (string values). */
  readonly headers: Readonly<Record<string, string>>;
  /** The event's data, validated against its schema (and upcast to the current version on receipt). */
  readonly payload: P;
}

/** Fields a publisher may set per message. */
export interface EnvelopeOverrides {
  /** Correlation id to stamp. Default: the ambient one (inside a handler: the handled message's). */
  correlationId?: string;
  /** Id of the message that caused this one. Default: none (with a handler's `ctx.publish`: the handled message's id). */
  causationId?: string;
  /** The tenant of the event. Default: the ambient tenant (inside a handler: the handled message's). */
  tenantId?: string;
  /**
   * W3C trace context to carry. Default: that of the `create` span the publish starts, when an
   * OpenTelemetry SDK is registered (with a handler's `ctx.publish`: the handled message's).
   */
  traceparent?: string;
  /** W3C trace state that goes with `traceparent`. */
  tracestate?: string;
  /** Messages with the same key are delivered and handled in order. Default: none (no order kept). */
  orderingKey?: string;
  /** Application headers (string values; names starting with `herald-` are reserved). */
  headers?: Record<string, string>;
  /** Force an id (idempotent re-publishing); must be a UUID. */
  id?: string;
}
