export type { CapturedChange, EntityEventOptions, EtoMapping } from './entity-event-publisher.js';
export { EntityEventPublisher } from './entity-event-publisher.js';
export type { EntityChange, EntityEto, EntityEventTypes, EntityKeys } from './entity-events.js';
export { entityEvents, keysAsString } from './entity-events.js';
export type { ApplyResult, DriftReport, EntitySynchronizerOptions } from './entity-synchronizer.js';
export { EntitySynchronizer } from './entity-synchronizer.js';
export {
  EntityEventsConflictError,
  EntityEventsTransactionError,
  EntityEventsUnsupportedError,
} from './errors.js';
export type { LocalCopy, LocalEntityStore } from './local-store.js';
export { MemoryEntityStore } from './local-store.js';
export type { EntitySelector } from './selectors.js';
export { EntitySelectors, isSelected } from './selectors.js';
export type { SnapshotItem, SnapshotPage, SnapshotSource } from './snapshots.js';
export { readSnapshot, snapshotSource } from './snapshots.js';
