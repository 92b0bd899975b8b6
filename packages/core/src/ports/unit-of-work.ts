/**
 * The ambient unit of work core publishes into (implemented by `@herald/uow`).
 * Stores receive `tx` as the transaction to write with.
 */
export interface UnitOfWorkScope {
  /** The database transaction of this unit of work (passed to stores as `tx`). */
  readonly tx: unknown;
  /** Runs `work` when the unit of work completes, before it commits; a rejection rolls it back. */
  beforeComplete(work: () => Promise<void>): void;
  /** Runs after a successful commit. */
  afterCommit(callback: () => void): void;
  /**
   * Runs after the unit of work failed and rolled back (optional; `@herald/uow`
   * has it). Core uses it to give an aggregate back the events it took.
   */
  onFailure?(callback: (error: unknown) => void): void;
}

/** Finds the current unit of work, if any (usually AsyncLocalStorage based). */
export interface UnitOfWorkAccessor {
  /** The unit of work running in the caller's async context; undefined outside one. */
  current(): UnitOfWorkScope | undefined;
}
