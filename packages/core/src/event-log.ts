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
  readonly outbox?: OutboxStore;
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
  readonly name: string;
  readonly outbox: OutboxStore | undefined;
  readonly inbox: InboxStore | undefined;
  readonly selector: (event: EventDescriptor) => boolean;
  readonly handlerSelector: (handler: HandlerRegistration) => boolean;
  readonly inboxEventSelector: (event: EventDescriptor) => boolean;
  readonly sending: boolean;
  readonly processing: boolean;
  /** The tenants this log serves; `undefined`: not tenant-specific. */
  readonly tenants: ReadonlySet<string> | undefined;
}
