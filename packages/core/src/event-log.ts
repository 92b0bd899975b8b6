import type { EventDescriptor } from './event.js';
import type { HandlerRegistration } from './handlers.js';
import type { InboxStore } from './ports/inbox-store.js';
import type { OutboxStore } from './ports/outbox-store.js';

/**
 * An outbox plus an inbox in one database, as a store adapter returns them
 * (e.g. `prismaEventLog`, `mongoEventLog`): the outbox keeps the events your
 * transactions publish, the inbox the deliveries your handlers received. One
 * of the two may be absent. The name is MASA's (`useEventLog`); it is not a
 * log of all events.
 */
export interface EventLog {
  /** Where published events wait for the relay; absent when the log only receives. */
  readonly outbox?: OutboxStore;
  /** Where deliveries are recorded (dedup, retries); absent when the log only publishes. */
  readonly inbox?: InboxStore;
}

/** Options of `builder.useEventLog(log, options)` (ABP's named outbox/inbox configurations). */
export interface EventLogOptions {
  /** Configuration name; default `Default`. */
  name?: string;
  /** Events this outbox stores (default: all not taken by an earlier configuration). */
  selector?: (event: EventDescriptor) => boolean;
  /** Handlers whose inbox lives here (default: all not taken by an earlier configuration). */
  handlerSelector?: (handler: HandlerRegistration) => boolean;
  /**
   * Database per tenant: this log serves only events and handlings of these
   * tenants (by the envelope's `tenantId`), and takes precedence for them over
   * logs that list no tenants. Each log has its own relay, so one busy tenant
   * does not hold back the others. Default: no tenant list (serves whoever no
   * other log claims, the host included).
   */
  tenants?: readonly string[];
  /** Set false to store events without relaying them from this replica (ABP's IsSendingEnabled). */
  sending?: boolean;
  /**
   * Inbox event selector (ABP's inbox `EventSelector`): a handler's inbox is
   * here only when this accepts every event the handler handles (and
   * `handlerSelector` accepts the handler). Default: all.
   */
  inboxEventSelector?: (event: EventDescriptor) => boolean;
  /**
   * Set false to receive and store deliveries in this inbox without running
   * their handlers, and without running inbox retries here (ABP's
   * IsProcessingEnabled). A replica — or a restart — with processing enabled
   * on the same inbox runs them, in arrival order per key.
   */
  processing?: boolean;
}

/** A resolved event-log configuration. */
export interface EventLogConfig {
  /** The configuration's name (`Default`, or the `name` given; `Embedded` for the in-memory one core adds). */
  readonly name: string;
  /** Its outbox store; undefined when the log has none. */
  readonly outbox: OutboxStore | undefined;
  /** Its inbox store; undefined when the log has none. */
  readonly inbox: InboxStore | undefined;
  /** Which events this outbox stores (default: all not taken by an earlier configuration). */
  readonly selector: (event: EventDescriptor) => boolean;
  /** Which handlers keep their inbox here (default: all not taken by an earlier configuration). */
  readonly handlerSelector: (handler: HandlerRegistration) => boolean;
  /** A handler's inbox is here only when this accepts every event it handles. Default: all. */
  readonly inboxEventSelector: (event: EventDescriptor) => boolean;
  /** Whether this replica relays the outbox. Default true. */
  readonly sending: boolean;
  /** Whether this replica runs handlers and inbox retries for this inbox. Default true. */
  readonly processing: boolean;
  /** The tenants this log serves; `undefined`: not tenant-specific. */
  readonly tenants: ReadonlySet<string> | undefined;
}
