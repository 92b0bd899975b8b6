import { ConfigurationError, type IntegrationEventBus, type PublishOptions } from '@herald/core';
import {
  type EntityChange,
  type EntityEto,
  type EntityEventTypes,
  type EntityKeys,
  entityEvents,
  keysAsString,
} from './entity-events.js';
import { type EntitySelector, isSelected } from './selectors.js';

/** How one entity type becomes events: its transfer object, keys and version. */
export interface EtoMapping<T, E> {
  /** The event types (`entityEvents(name)`) to publish. */
  readonly events: EntityEventTypes<E>;
  /** Primary key(s) of a row. */
  readonly keys: (row: T) => EntityKeys;
  /** Entity → transfer object. Default: the ABP-style `EntityEto`. */
  readonly toEto?: (row: T) => E;
  /** The row's version (e.g. a `version` column incremented on every write). */
  readonly version?: (row: T) => number | undefined;
}

/** A change captured by a database integration (Prisma extension, Mongo helper). */
export interface CapturedChange<T = unknown> {
  /** Logical entity type of the written row (what selectors and mappings match), e.g. `catalog.Product`. */
  readonly entityType: string;
  /** What the write did to the row; decides which of the three entity events is published. */
  readonly operation: 'created' | 'updated' | 'deleted';
  /** The row after the change (for deletes: the deleted row). */
  readonly row: T;
}

/** Options of {@link EntityEventPublisher}. */
export interface EntityEventOptions {
  /** Which entity types publish events (any match selects). */
  readonly selectors: readonly EntitySelector[];
  /** Per entity type mappings; selected types without one publish `EntityEto` events named after the type. */
  readonly mappings?: Readonly<Record<string, EtoMapping<any, any>>>;
  /** Key fields of unmapped entity types (default `['id']`). */
  readonly defaultKeys?: readonly string[];
  /**
   * Turns a default key field's value into a string or number (an integration
   * passes e.g. BigInt ids or MongoDB ObjectIds through it). Default: strings
   * and numbers as they are, anything else is rejected.
   */
  readonly keyValue?: (value: unknown) => string | number | undefined;
  /**
   * Version of a row when its mapping has no `version()` (or it has no
   * mapping): how an integration that maintains a version column reports it.
   */
  readonly defaultVersion?: (entityType: string, row: unknown) => number | undefined;
}

/**
 * Turns captured entity changes into `EntityCreated/Updated/Deleted` events
 * and publishes them in the caller's transaction — the shared core of the
 * Prisma extension and the MongoDB helper.
 */
export class EntityEventPublisher {
  readonly #bus: IntegrationEventBus;
  readonly #options: EntityEventOptions;
  readonly #defaultEvents = new Map<string, EntityEventTypes<EntityEto>>();

  constructor(bus: IntegrationEventBus, options: EntityEventOptions) {
    if (!options.selectors?.length) throw new ConfigurationError('Entity events need at least one selector');
    this.#bus = bus;
    this.#options = options;
  }

  /** The options this publisher was created with. */
  get options(): EntityEventOptions {
    return this.#options;
  }

  /** True when changes of this entity type publish events. */
  selects(entityType: string): boolean {
    return isSelected(this.#options.selectors, entityType);
  }

  /** The primary key(s) of a row of `entityType` (its mapping's `keys`, or the default key fields). */
  keysOf(entityType: string, row: unknown): EntityKeys {
    const mapping = this.#options.mappings?.[entityType];
    return mapping ? mapping.keys(row) : this.#defaultKeys(entityType, row);
  }

  /** The events for these changes (nothing for unselected types). */
  toEvents(changes: readonly CapturedChange[]): object[] {
    const events: object[] = [];
    for (const change of changes) {
      if (!this.selects(change.entityType)) continue;
      const mapping = this.#options.mappings?.[change.entityType];
      const keys = this.keysOf(change.entityType, change.row);
      const version = mapping?.version
        ? mapping.version(change.row)
        : this.#options.defaultVersion?.(change.entityType, change.row);
      const events_ = mapping?.events ?? this.#eventsFor(change.entityType);
      const entity = mapping?.toEto
        ? mapping.toEto(change.row)
        : ({ entityType: change.entityType, keysAsString: keysAsString(keys) } satisfies EntityEto);
      const payload: EntityChange<unknown> = {
        entityType: change.entityType,
        keys,
        keysAsString: keysAsString(keys),
        ...(version !== undefined ? { version } : {}),
        entity,
      };
      const Type =
        change.operation === 'created'
          ? events_.Created
          : change.operation === 'updated'
            ? events_.Updated
            : events_.Deleted;
      events.push(new Type(payload as EntityChange<any>));
    }
    return events;
  }

  /** Publishes the events of these changes with `options` (pass `{ tx }` to join the change's transaction). */
  async publish(changes: readonly CapturedChange[], options?: PublishOptions): Promise<void> {
    const events = this.toEvents(changes);
    if (events.length === 0) return;
    const keyed = events.map((event) => {
      const change = event as unknown as EntityChange<unknown>;
      return { event, orderingKey: `${change.entityType}:${change.keysAsString}` };
    });
    // One publish per ordering key keeps every entity's events in order.
    for (const { event, orderingKey } of keyed) await this.#bus.publish(event, { ...options, orderingKey });
  }

  #defaultKeys(entityType: string, row: unknown): EntityKeys {
    const keys: Record<string, string | number> = {};
    for (const field of this.#options.defaultKeys ?? ['id']) {
      const raw = (row as Record<string, unknown>)?.[field];
      const value = this.#options.keyValue ? this.#options.keyValue(raw) : raw;
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new ConfigurationError(
          `Entity "${entityType}" has no usable key field "${field}"; add a mapping with keys()`,
        );
      }
      keys[field] = value;
    }
    return keys;
  }

  #eventsFor(entityType: string): EntityEventTypes<EntityEto> {
    let events = this.#defaultEvents.get(entityType);
    if (!events) {
      events = entityEvents<EntityEto>(entityType);
      this.#defaultEvents.set(entityType, events);
    }
    return events;
  }
}
