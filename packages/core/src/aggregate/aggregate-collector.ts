import type { ConverterRegistry } from '../converters.js';
import type { UnitOfWorkAccessor, UnitOfWorkScope } from '../ports/unit-of-work.js';
import type { PublishOptions } from '../publish-options.js';
import {
  observeRecordedEvents,
  type RecordedEvent,
  restoreRecordedEvents,
  takeRecordedEvents,
} from './recorded-events.js';

/** Units of work already collected by some bus: one unit of work publishes an entity's events once. */
const owners = new WeakMap<UnitOfWorkScope, AggregateEventCollector>();

/** What the collector needs from its bus. */
export interface AggregateEventCollectorSettings {
  readonly unitOfWork: UnitOfWorkAccessor | undefined;
  readonly converters: ConverterRegistry;
  readonly publish: (events: readonly object[], options?: PublishOptions) => Promise<void>;
}

/**
 * Publishes the events entities record: an entity that records an event
 * inside a unit of work is tracked there, and when the unit of work completes
 * (inside its transaction) the recorded events of every tracked entity are
 * taken — so an entity saved twice publishes each event once — converted and
 * published. A rolled-back unit of work publishes nothing.
 */
export class AggregateEventCollector {
  readonly #settings: AggregateEventCollectorSettings;
  readonly #tracked = new WeakMap<UnitOfWorkScope, Set<object>>();
  #unobserve: (() => void) | undefined;

  constructor(settings: AggregateEventCollectorSettings) {
    this.#settings = settings;
    if (settings.unitOfWork) this.#unobserve = observeRecordedEvents((entity) => this.#onRecorded(entity));
  }

  /** Stops watching recordings (the bus stopped). */
  close(): void {
    this.#unobserve?.();
    this.#unobserve = undefined;
  }

  /** Integration events for recorded events: distributed ones as is, domain ones through the converters. */
  toIntegrationEvents(recorded: readonly RecordedEvent[]): object[] {
    return recorded.flatMap(({ kind, event }) =>
      kind === 'distributed' ? [event] : this.#settings.converters.convert(event),
    );
  }

  /** Takes the entities' recorded events and publishes them with `options` (now, or joining the unit of work). */
  async publishRecorded(entities: readonly object[], options?: PublishOptions): Promise<void> {
    const events = entities.flatMap((entity) => this.toIntegrationEvents(takeRecordedEvents(entity)));
    if (events.length > 0) await this.#settings.publish(events, options);
  }

  /**
   * Tracks `entity` in the ambient unit of work; false when there is none
   * that still accepts work.
   */
  track(entity: object): boolean {
    const scope = this.#settings.unitOfWork?.current();
    if (!scope) return false;
    const owner = owners.get(scope);
    if (owner && owner !== this) return owner.track(entity);
    let entities = this.#tracked.get(scope);
    if (!entities) {
      try {
        scope.beforeComplete(() => this.#flush(scope));
      } catch {
        return false; // the unit of work already completed: the events stay on the entity
      }
      entities = new Set();
      this.#tracked.set(scope, entities);
      owners.set(scope, this);
    }
    entities.add(entity);
    return true;
  }

  #onRecorded(entity: object): void {
    this.track(entity);
  }

  async #flush(scope: UnitOfWorkScope): Promise<void> {
    const entities = this.#tracked.get(scope);
    this.#tracked.delete(scope);
    owners.delete(scope);
    if (!entities) return;
    const taken = [...entities].map((entity) => ({ entity, events: takeRecordedEvents(entity) }));
    // A rollback after this point gives the entities their events back (the outbox rows are gone too).
    scope.onFailure?.(() => {
      for (const { entity, events } of taken) restoreRecordedEvents(entity, events);
    });
    const events = taken.flatMap(({ events }) => this.toIntegrationEvents(events));
    // Still inside the unit of work: the publish joins it and commits with the business data.
    if (events.length > 0) await this.#settings.publish(events);
  }
}
