import { HeraldError } from '@herald/core';

/**
 * A unit of work was used in a state that does not allow the call: a
 * `beforeComplete` callback registered after the unit finished completing, an
 * `afterCommit` callback registered after it committed or failed, or
 * `requireCurrent()` called outside any unit of work.
 *
 * The usual cause is work that outlives its unit of work (a promise that was
 * not awaited inside `manager.run`).
 */
export class UnitOfWorkStateError extends HeraldError {
  constructor(message: string) {
    super('HERALD_UNIT_OF_WORK_STATE', message);
  }
}

/**
 * A unit of work ran more `beforeComplete` callbacks than
 * `maxCompletionCallbacks` allows: almost always an in-process handler that
 * publishes an event it handles itself, forever. The unit of work rolls back.
 */
export class UnitOfWorkCompletionLoopError extends HeraldError {
  /** The limit that was exceeded. */
  readonly limit: number;

  constructor(limit: number) {
    super(
      'HERALD_UNIT_OF_WORK_COMPLETION_LOOP',
      `The unit of work ran more than ${limit} beforeComplete callbacks; ` +
        'a handler probably publishes an event that triggers itself again. The unit of work was rolled back.',
    );
    this.limit = limit;
  }
}
