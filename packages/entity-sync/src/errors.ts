import { HeraldError } from '@herald/core';

/**
 * A write to a selected entity ran in a transaction that the entity-event
 * integration cannot join, so its events could not be written atomically
 * with it. Nothing was written: the error is raised before the change runs.
 *
 * Prisma: a write through the `tx` of your own `prisma.$transaction(…)` (or a
 * batch `$transaction([…])`). Write through `withEntityEvents(tx)` instead, or
 * run the work in the `@herald/uow` unit of work given as `unitOfWork`.
 * MongoDB: a session without an active transaction where one is required.
 */
export class EntityEventsTransactionError extends HeraldError {
  constructor(message: string) {
    super('HERALD_ENTITY_EVENTS_TRANSACTION', message);
  }
}

/**
 * A write to a selected entity that the integration cannot turn into exact
 * events (e.g. a bulk write on a database without `…AndReturn`, a MongoDB
 * pipeline update with automatic versions). Raised before anything is written.
 */
export class EntityEventsUnsupportedError extends HeraldError {
  constructor(message: string) {
    super('HERALD_ENTITY_EVENTS_UNSUPPORTED', message);
  }
}

/**
 * A bulk delete changed a different number of rows than it read, because a
 * concurrent transaction changed them in between. The transaction is rolled
 * back (nothing is published); retry it.
 */
export class EntityEventsConflictError extends HeraldError {
  constructor(message: string) {
    super('HERALD_ENTITY_EVENTS_CONFLICT', message);
  }
}
