export { createIntegrationEventBus, IntegrationEventBusBuilder } from './builder.js';
export type { CreateBusSettings, HeraldPlugin } from './builder.js';
export { IntegrationEventBus } from './bus.js';
export type { BusSettings } from './bus.js';
export { defineEvent, describeEvent, eventNameOf, instantiate, validatePayload } from './event.js';
export type { DefinedEvent, DefineEventOptions, EventDescriptor, EventType, Upcaster } from './event.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export type { Envelope, EnvelopeOverrides } from './envelope.js';
export { fromWire, isReservedHeader, toWire, withSequence, WireHeaders } from './wire.js';
export type { WireMessage } from './wire.js';
export { DEFAULT_MAX_PAYLOAD_BYTES, JsonSerializer } from './serializer.js';
export type { Serializer } from './serializer.js';
export * from './errors.js';
export { defaultOptions, defaultRetryBackoff, validateOptions } from './options.js';
export type { HeraldOptions } from './options.js';
export type { Handler, HandlerContext, HandlerFunction, HandlerObject, HandlerOptions, HandlerRegistration } from './handlers.js';
export type { PublishOptions, PreparedEvent } from './publisher.js';
export type { DomainEventConverter } from './converters.js';
export type { EventLog, EventLogConfig, EventLogOptions } from './event-log.js';
export type { BusEventListener, BusEventMap, BusEventName, EventSource } from './monitoring.js';
export type * from './ports/transport.js';
export type * from './ports/outbox-store.js';
export type * from './ports/inbox-store.js';
export type * from './ports/lock.js';
export type * from './ports/unit-of-work.js';
export type { Logger } from './ports/logger.js';
export { consoleLogger, silentLogger } from './ports/logger.js';
export { InProcessBroker, InProcessTransport, defaultInProcessBroker } from './memory/in-process-transport.js';
export { MemoryDatabase, MemoryTransaction, isMemoryTransaction } from './memory/memory-database.js';
export { MemoryInboxStore } from './memory/memory-inbox.js';
export { MemoryOutboxStore } from './memory/memory-outbox.js';
export { MemoryLock } from './memory/memory-lock.js';
export { BUCKET_COUNT, bucketOf } from './runtime/bucket.js';
export { LeaseKeeper } from './runtime/lease-keeper.js';
export { KeyedQueue } from './runtime/keyed-queue.js';
export { uuidv7, isUuid } from './uuid.js';

import { MemoryDatabase } from './memory/memory-database.js';
import { MemoryInboxStore } from './memory/memory-inbox.js';
import { MemoryOutboxStore } from './memory/memory-outbox.js';
import type { EventLog } from './event-log.js';

/** An in-memory outbox and inbox sharing one {@link MemoryDatabase} (tests, demos, monoliths). */
export function memoryEventLog(options: { database?: MemoryDatabase } = {}): EventLog & {
  outbox: MemoryOutboxStore;
  inbox: MemoryInboxStore;
  database: MemoryDatabase;
} {
  const database = options.database ?? new MemoryDatabase();
  return { outbox: new MemoryOutboxStore({ database }), inbox: new MemoryInboxStore({ database }), database };
}
