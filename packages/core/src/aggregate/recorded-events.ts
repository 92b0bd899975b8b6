/**
 * Events an entity records while business code changes it (ABP's
 * `AddDistributedEvent` / `AddLocalEvent`, NetCorePal's `AddDomainEvent`).
 * They live on the entity under a non-enumerable symbol, so the entity stays a
 * plain object for ORMs and serializers, and they leave it only when a unit of
 * work that saves it completes (or {@link takeRecordedEvents} is called).
 */

/** Whether a recorded event is published as is or first turned into integration events by converters. */
export type RecordedEventKind = 'distributed' | 'domain';

/** One event an entity recorded, in the order it was recorded. */
export interface RecordedEvent {
  /** `distributed`: published as is; `domain`: turned into integration events by its converter (none: nothing). */
  readonly kind: RecordedEventKind;
  /** The event instance as recorded. */
  readonly event: object;
}

const RECORDED = Symbol('herald.recordedEvents');

type Observer = (entity: object) => void;
const observers = new Set<Observer>();

/**
 * @internal A bus with a unit of work watches recordings so the entity is
 * published when the ambient unit of work completes; returns the unsubscribe.
 */
export function observeRecordedEvents(observer: Observer): () => void {
  observers.add(observer);
  return () => void observers.delete(observer);
}

function listOf(entity: object): RecordedEvent[] {
  const existing = (entity as { [RECORDED]?: RecordedEvent[] })[RECORDED];
  if (existing) return existing;
  const created: RecordedEvent[] = [];
  Object.defineProperty(entity, RECORDED, { value: created, enumerable: false, writable: false });
  return created;
}

function record(entity: object, kind: RecordedEventKind, event: object): void {
  if (entity === null || typeof entity !== 'object') throw new TypeError('Events are recorded on an object');
  if (event === null || typeof event !== 'object') throw new TypeError('A recorded event must be an object');
  listOf(entity).push({ kind, event });
  for (const observer of observers) observer(entity);
}

/** Records an integration event on `entity`; it is published as is (ABP's `AddDistributedEvent`). */
export function recordDistributedEvent(entity: object, event: object): void {
  record(entity, 'distributed', event);
}

/**
 * Records a domain event on `entity`; the bus's registered converters
 * (`builder.convert(…)`) turn it into integration events when it is published.
 * A domain event without a converter publishes nothing.
 */
export function recordDomainEvent(entity: object, event: object): void {
  record(entity, 'domain', event);
}

/** The events `entity` recorded and that were not published yet, oldest first (a copy). */
export function recordedEvents(entity: object): readonly RecordedEvent[] {
  return [...((entity as { [RECORDED]?: RecordedEvent[] })[RECORDED] ?? [])];
}

/**
 * @internal Puts taken events back in front of what `entity` recorded since
 * (their publish was rolled back).
 */
export function restoreRecordedEvents(entity: object, events: readonly RecordedEvent[]): void {
  if (events.length > 0) listOf(entity).unshift(...events);
}

/** Removes and returns the events `entity` recorded; a second call returns none. */
export function takeRecordedEvents(entity: object): RecordedEvent[] {
  const list = (entity as { [RECORDED]?: RecordedEvent[] })[RECORDED];
  return list ? list.splice(0) : [];
}

/**
 * A convenience base class for aggregate roots. Extending it is optional: the
 * free functions above work on any object.
 *
 * ```ts
 * class Order extends AggregateRoot {
 *   place() { this.addDistributedEvent(new OrderPlaced({ orderId: this.id })); }
 * }
 * await uow.run(async () => { order.place(); await orders.save(order); }); // published on completion
 * ```
 */
export abstract class AggregateRoot {
  /** Records an integration event, published when the unit of work completes. */
  protected addDistributedEvent(event: object): void {
    recordDistributedEvent(this, event);
  }

  /** Records a domain event, converted into integration events when the unit of work completes. */
  protected addDomainEvent(event: object): void {
    recordDomainEvent(this, event);
  }

  /** The events recorded and not published yet. */
  get pendingEvents(): readonly RecordedEvent[] {
    return recordedEvents(this);
  }
}
