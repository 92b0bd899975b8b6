import type { Logger, UnitOfWorkScope } from '@herald/core';
import { UnitOfWorkCompletionLoopError, UnitOfWorkStateError } from './errors.js';

/**
 * Where a unit of work is in its life:
 *
 * - `active`: the work function is running;
 * - `completing`: the work function resolved and `beforeComplete` callbacks
 *   are running, inside the transaction;
 * - `committing`: every callback succeeded; waiting for the transaction to
 *   commit;
 * - `committed`: the transaction committed (`afterCommit` callbacks run now);
 * - `failed`: the work, a callback or the commit failed; the transaction was
 *   rolled back.
 */
export type UnitOfWorkState = 'active' | 'completing' | 'committing' | 'committed' | 'failed';

/**
 * One unit of work: a database transaction (or none) plus the callbacks that
 * run when it completes. It is the `UnitOfWorkScope` `@herald/core` publishes
 * into: inside `manager.run`, `bus.publish(event)` defers the outbox write to
 * `beforeComplete`, so the record commits with your business data.
 *
 * @typeParam Tx - the transaction type your transaction runner hands out
 *   (e.g. `Prisma.TransactionClient`, `MemoryTransaction`, a `pg` client).
 */
export interface UnitOfWork<Tx = unknown> extends UnitOfWorkScope {
  /** Unique id of this unit of work, for logs. */
  readonly id: string;
  /**
   * The transaction opened for this unit of work: write your business data
   * with it. `undefined` when the unit of work runs without a transaction
   * (no runner configured, or `{ transaction: false }`).
   */
  readonly tx: Tx;
  /** Whether a transaction runner opened a transaction for this unit of work. */
  readonly isTransactional: boolean;
  /** The current state; see {@link UnitOfWorkState}. */
  readonly state: UnitOfWorkState;
  /**
   * The unit of work that was ambient when this one began with
   * `{ requiresNew: true }`; `undefined` for a top-level unit of work.
   */
  readonly outer: UnitOfWork<Tx> | undefined;
  /** Free-form per-unit-of-work storage (ABP's `IUnitOfWork.Items`). */
  readonly items: Map<unknown, unknown>;
  /**
   * Runs `work` once the work function has resolved, before the transaction
   * commits and still inside it. Callbacks run one at a time in registration
   * order; callbacks registered while they run (an in-process handler
   * publishing a follow-up event) run too, before the commit. A rejection
   * rolls the whole unit of work back and becomes the error of `run`.
   *
   * @throws {UnitOfWorkStateError} when the unit of work has already finished completing.
   */
  beforeComplete(work: () => Promise<void> | void): void;
  /**
   * Runs `callback` after the transaction committed (core uses it to wake the
   * outbox relay). Callbacks run in registration order, outside the unit of
   * work; an error is logged and never turns the committed unit of work into
   * a failure. Not run when the unit of work fails.
   *
   * @throws {UnitOfWorkStateError} when the unit of work has already committed or failed.
   */
  afterCommit(callback: () => Promise<void> | void): void;
  /**
   * Runs `callback` with the error after the unit of work failed and its
   * transaction was rolled back (ABP's `Failed` event). Errors of the
   * callback are logged; the original error is still the one `run` rejects with.
   *
   * @throws {UnitOfWorkStateError} when the unit of work has already committed or failed.
   */
  onFailure(callback: (error: unknown) => Promise<void> | void): void;
}

/** @internal Settings a {@link UnitOfWorkImpl} needs from its manager. */
export interface UnitOfWorkSettings {
  readonly id: string;
  readonly isTransactional: boolean;
  readonly outer: UnitOfWork<any> | undefined;
  readonly logger: Logger;
  readonly maxCompletionCallbacks: number;
}

/** @internal The implementation behind {@link UnitOfWork}; driven by the manager. */
export class UnitOfWorkImpl<Tx> implements UnitOfWork<Tx> {
  readonly id: string;
  readonly isTransactional: boolean;
  readonly outer: UnitOfWork<Tx> | undefined;
  readonly items = new Map<unknown, unknown>();
  #tx: Tx = undefined as Tx;
  #state: UnitOfWorkState = 'active';
  readonly #beforeComplete: Array<() => Promise<void> | void> = [];
  readonly #afterCommit: Array<() => Promise<void> | void> = [];
  readonly #onFailure: Array<(error: unknown) => Promise<void> | void> = [];
  readonly #logger: Logger;
  readonly #maxCompletionCallbacks: number;
  #runningAfterCommit = false;

  constructor(settings: UnitOfWorkSettings) {
    this.id = settings.id;
    this.isTransactional = settings.isTransactional;
    this.outer = settings.outer;
    this.#logger = settings.logger;
    this.#maxCompletionCallbacks = settings.maxCompletionCallbacks;
  }

  get tx(): Tx {
    return this.#tx;
  }

  get state(): UnitOfWorkState {
    return this.#state;
  }

  /** True while work may still join this unit of work (`active` or `completing`). */
  get isOpen(): boolean {
    return this.#state === 'active' || this.#state === 'completing';
  }

  beforeComplete(work: () => Promise<void> | void): void {
    if (typeof work !== 'function') throw new TypeError('beforeComplete() expects a function');
    if (!this.isOpen) {
      throw new UnitOfWorkStateError(
        `Unit of work ${this.id} is ${this.#state}; it no longer accepts beforeComplete callbacks ` +
          '(was a publish left un-awaited inside manager.run?)',
      );
    }
    this.#beforeComplete.push(work);
  }

  afterCommit(callback: () => Promise<void> | void): void {
    if (typeof callback !== 'function') throw new TypeError('afterCommit() expects a function');
    if (this.#state === 'failed' || (this.#state === 'committed' && !this.#runningAfterCommit)) {
      throw new UnitOfWorkStateError(
        `Unit of work ${this.id} is ${this.#state}; it no longer accepts afterCommit callbacks`,
      );
    }
    this.#afterCommit.push(callback);
  }

  onFailure(callback: (error: unknown) => Promise<void> | void): void {
    if (typeof callback !== 'function') throw new TypeError('onFailure() expects a function');
    if (this.#state === 'committed' || this.#state === 'failed') {
      throw new UnitOfWorkStateError(
        `Unit of work ${this.id} is ${this.#state}; it no longer accepts onFailure callbacks`,
      );
    }
    this.#onFailure.push(callback);
  }

  /** @internal The transaction runner handed us the transaction. */
  attach(tx: Tx): void {
    this.#tx = tx;
  }

  /**
   * @internal Runs `beforeComplete` callbacks until none is left (callbacks
   * may register more), then moves to `committing`.
   */
  async complete(): Promise<void> {
    this.#state = 'completing';
    let ran = 0;
    while (this.#beforeComplete.length > 0) {
      if (ran >= this.#maxCompletionCallbacks)
        throw new UnitOfWorkCompletionLoopError(this.#maxCompletionCallbacks);
      const next = this.#beforeComplete.shift()!;
      ran++;
      await next();
    }
    this.#state = 'committing';
  }

  /** @internal The transaction committed: run `afterCommit` callbacks, logging their errors. */
  async committed(): Promise<void> {
    this.#state = 'committed';
    this.#beforeComplete.length = 0;
    this.#onFailure.length = 0;
    this.#runningAfterCommit = true;
    try {
      while (this.#afterCommit.length > 0) {
        const callback = this.#afterCommit.shift()!;
        try {
          await callback();
        } catch (error) {
          this.#logger.error('An afterCommit callback failed; the unit of work stays committed', {
            unitOfWork: this.id,
            error,
          });
        }
      }
    } finally {
      this.#runningAfterCommit = false;
    }
  }

  /** @internal The unit of work failed and was rolled back: run `onFailure` callbacks. */
  async failed(error: unknown): Promise<void> {
    this.#state = 'failed';
    this.#beforeComplete.length = 0;
    this.#afterCommit.length = 0;
    const callbacks = this.#onFailure.splice(0);
    for (const callback of callbacks) {
      try {
        await callback(error);
      } catch (callbackError) {
        this.#logger.error('An onFailure callback failed', { unitOfWork: this.id, error: callbackError });
      }
    }
  }
}
