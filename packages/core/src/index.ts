export type { RecordedEvent, RecordedEventKind } from './aggregate/recorded-events.js';
export {
  AggregateRoot,
  recordDistributedEvent,
  recordDomainEvent,
  recordedEvents,
  takeRecordedEvents,
} from './aggregate/recorded-events.js';
export type { CreateBusSettings, HeraldPlugin } from './builder.js';
export { createIntegrationEventBus, IntegrationEventBusBuilder } from './builder.js';
export type { BusHealth, BusSettings } from './bus.js';
export { IntegrationEventBus } from './bus.js';
export type { CatalogEvent, CatalogHandler, EventCatalog } from './catalog.js';
export type { ConnectionUrlOptions } from './connection-url.js';
export { parseConnectionUrl } from './connection-url.js';
export type { AmbientContextValues } from './context/ambient-context.js';
export { ambientContext } from './context/ambient-context.js';
export { CONTEXT_HEADER_PREFIX, propagateAmbientContext } from './context/context-propagation.js';
export type {
  ConsumeFilter,
  ConsumeFilterContext,
  PublishFilter,
  PublishFilterContext,
} from './context/filters.js';
export type { DomainEventConverter } from './converters.js';
export type { Envelope, EnvelopeOverrides } from './envelope.js';
export * from './errors.js';
export type { DefinedEvent, DefineEventOptions, EventDescriptor, EventType, Upcaster } from './event.js';
export { defineEvent, describeEvent, eventNameOf, instantiate, validatePayload } from './event.js';
export type { EventLog, EventLogConfig, EventLogOptions } from './event-log.js';
export type {
  Handler,
  HandlerContext,
  HandlerFunction,
  HandlerObject,
  HandlerOptions,
  HandlerRegistration,
} from './handlers.js';
export {
  defaultInProcessBroker,
  InProcessBroker,
  InProcessTransport,
} from './memory/in-process-transport.js';
export { isMemoryTransaction, MemoryDatabase, MemoryTransaction } from './memory/memory-database.js';
export { MemoryInboxStore } from './memory/memory-inbox-store.js';
export { MemoryLock } from './memory/memory-lock.js';
export { MemoryOutboxStore } from './memory/memory-outbox-store.js';
export type { BusEventListener, BusEventMap, BusEventName, EventSource } from './monitoring.js';
export type { HeraldOptions } from './options.js';
export { defaultOptions, defaultRetryBackoff, validateOptions } from './options.js';
export type * from './ports/inbox-store.js';
export type * from './ports/lock.js';
export type { Logger } from './ports/logger.js';
export { consoleLogger, silentLogger } from './ports/logger.js';
export type * from './ports/outbox-store.js';
export type * from './ports/records.js';
export type * from './ports/transport.js';
export type * from './ports/unit-of-work.js';
export type { PreparedEvent, PublishOptions } from './publisher.js';
export { REDACTED, redactError, redactingLogger, redactSecrets, secretsOfUrl } from './redact.js';
export { BUCKET_COUNT, bucketOf } from './runtime/bucket.js';
export { KeyedQueue } from './runtime/keyed-queue.js';
export { LeaseKeeper } from './runtime/lease-keeper.js';
export { sleep } from './runtime/timers.js';
export type { Serializer } from './serializer.js';
export { DEFAULT_MAX_PAYLOAD_BYTES, JsonSerializer } from './serializer.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export { isUuid, uuidv7 } from './uuid.js';
export type { WireMessage } from './wire.js';
export { fromWire, isReservedHeader, toWire, WireHeaders, withSequence } from './wire.js';

import type { EventLog } from './event-log.js';
import { MemoryDatabase } from './memory/memory-database.js';
import { MemoryInboxStore } from './memory/memory-inbox-store.js';
import { MemoryOutboxStore } from './memory/memory-outbox-store.js';

/**
 * An in-memory outbox and inbox sharing one {@link MemoryDatabase} (tests, demos, monoliths).
 * Their rows live on the store objects, not in the database's tables: buses that should
 * share an outbox or inbox must share this event-log object, not just the database.
 */
export function memoryEventLog(options: { database?: MemoryDatabase } = {}): EventLog & {
  /** The in-memory outbox. */
  outbox: MemoryOutboxStore;
  /** The in-memory inbox. */
  inbox: MemoryInboxStore;
  /** The database both join transactions of (`options.database`, or a new one). */
  database: MemoryDatabase;
} {
  const database = options.database ?? new MemoryDatabase();
  return { outbox: new MemoryOutboxStore({ database }), inbox: new MemoryInboxStore({ database }), database };
}
export { PARKED_REASON } from './receive/parking.js';
