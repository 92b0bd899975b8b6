import type { EventDescriptor } from './event.js';
import type { HandlerRegistry } from './handlers.js';
import type { Transport } from './ports/transport.js';

/** A handler as the catalog lists it. */
export interface CatalogHandler {
  /** The handler's stable name (its inbox dedup key). */
  readonly name: string;
  /** Its consumer group: `service` or `service.group`. */
  readonly group: string;
}

/** One event a service publishes, handles, or both. */
export interface CatalogEvent {
  /** The event's definition: name, version, schema and upcasters. */
  readonly descriptor: EventDescriptor;
  /** Declared with `builder.publishes()`, or published by this bus since it was built. */
  readonly sent: boolean;
  /** The handlers this service runs for it (empty when it only publishes it). */
  readonly handlers: readonly CatalogHandler[];
}

/**
 * What a service knows about its events, read without starting anything:
 * contract exports (`@herald/contracts`) and the console's catalog page use it.
 */
export interface EventCatalog {
  /** The service's name (the bus's `service`). */
  readonly service: string;
  /** The configured transport; undefined on a builder left with the in-process default. */
  readonly transport: Transport | undefined;
  /** Sorted by event name. */
  readonly events: readonly CatalogEvent[];
}

/** Builds the catalog of a registry (shared by the builder and the bus). */
export function eventCatalog(
  service: string,
  registry: HandlerRegistry,
  transport: Transport | undefined,
): EventCatalog {
  const events = registry
    .events()
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((descriptor) => ({
      descriptor,
      sent: registry.isSent(descriptor.name),
      handlers: registry.handlersFor(descriptor.name).map(({ name, group }) => ({ name, group })),
    }));
  return { service, transport, events };
}
