import { type DefinedEvent, defineEvent } from '@herald/core';

/** Primary key values of an entity, by key name (several for a composite key). */
export type EntityKeys = Readonly<Record<string, string | number>>;

/** What every entity event carries besides the transfer object. */
export interface EntityChange<E> {
  /** Logical entity type, e.g. `catalog.Product`. */
  readonly entityType: string;
  /** The primary key(s). */
  readonly keys: EntityKeys;
  /** Keys joined with "," (ABP's `KeysAsString`). */
  readonly keysAsString: string;
  /**
   * Entity version after the change (deletes carry the version of the delete).
   * Must increase per entity, across delete and re-create; absent when the
   * source does not version its entities.
   */
  readonly version?: number;
  /** The event transfer object (ETO); for deletes, the last known state. */
  readonly entity: E;
}

/** The default transfer object when a model has no mapping (ABP's `EntityEto`). */
export interface EntityEto {
  /** Logical entity type of the changed entity, e.g. `catalog.Product`. */
  readonly entityType: string;
  /** Its primary key value(s) joined with "," (see {@link keysAsString}). */
  readonly keysAsString: string;
}

/** The three pre-defined event types of one entity. */
export interface EntityEventTypes<E> {
  /** The entity's event name prefix given to {@link entityEvents} (the events are `<name>.created` …). */
  readonly name: string;
  /** `<name>.created`: the entity was inserted. */
  readonly Created: DefinedEvent<EntityChange<E>>;
  /** `<name>.updated`: the entity was changed. */
  readonly Updated: DefinedEvent<EntityChange<E>>;
  /** `<name>.deleted`: the entity was removed; `entity` carries its last known state. */
  readonly Deleted: DefinedEvent<EntityChange<E>>;
}

/**
 * Declares `EntityCreated/Updated/Deleted` events for an entity transfer
 * object: `<name>.created`, `<name>.updated`, `<name>.deleted`. Producer and
 * consumer declare the same name (the name is the contract, as ABP's
 * `[EventName]` on the ETO).
 */
export function entityEvents<E>(name: string): EntityEventTypes<E> {
  return {
    name,
    Created: defineEvent<EntityChange<E>>(`${name}.created`),
    Updated: defineEvent<EntityChange<E>>(`${name}.updated`),
    Deleted: defineEvent<EntityChange<E>>(`${name}.deleted`),
  };
}

/** Joins keys in declaration order with "," like ABP's `KeysAsString`. */
export function keysAsString(keys: EntityKeys): string {
  return Object.values(keys).map(String).join(',');
}
