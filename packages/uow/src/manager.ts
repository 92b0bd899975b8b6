import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ConfigurationError,
  consoleLogger,
  type Logger,
  type UnitOfWorkAccessor,
  uuidv7,
} from '@herald/core';
import { UnitOfWorkStateError } from './errors.js';
import { type UnitOfWork, UnitOfWorkImpl } from './unit-of-work.js';

/**
 * Opens a database transaction, calls `work` with it, commits when `work`
 * resolves and rolls back when it rejects (re-throwing). Any "call me with
 * tx" function fits:
 *
 * ```ts
 * (work) => prisma.$transaction(work)              // Prisma interactive transaction
 * (work) => db.transaction(work)                   // @herald/core MemoryDatabase
 * (work) => knex.transaction(work)                 // Knex
 * (work) => withPgTransaction(pool, work)          // your own BEGIN/COMMIT wrapper
 * ```
 *
 * A runner may call `work` more than once (drivers that retry transient
 * transaction errors, such as MongoDB's `withTransaction`): every call starts
 * a fresh unit of work, and only the last one counts.
 *
 * Written as a generic function, `Tx` is inferred from a bound method such as
 * `db.transaction.bind(db)`; for an arrow function, give the manager's type
 * argument (`createUnitOfWorkManager<Prisma.TransactionClient>(…)`).
 *
 * @typeParam Tx - the transaction object handed to `work`.
 */
export type TransactionRunner<Tx> = <R>(work: (tx: Tx) => Promise<R>) => PromiseLike<R>;

/** Settings of {@link createUnitOfWorkManager}. */
export interface UnitOfWorkManagerOptions<Tx> {
  /**
   * How to open a transaction for a new unit of work. Without it, units of
   * work run without a transaction (`uow.tx` is `undefined`) unless `run`
   * receives one.
   */
  transaction?: TransactionRunner<Tx>;
  /** Where `afterCommit` / `onFailure` callback errors are logged. Default: core's `consoleLogger()`. */
  logger?: Logger;
  /**
   * Upper bound on `beforeComplete` callbacks one unit of work may run, to turn
   * an endless publish → handle → publish chain into an error instead of a
   * hang. Default 10 000.
   */
  maxCompletionCallbacks?: number;
}

/** Options of one {@link UnitOfWorkManager.run} call. */
export interface RunOptions<Tx> {
  /**
   * The transaction runner for this unit of work, overriding the manager's;
   * `false` runs it without a transaction. Ignored when the call joins an
   * outer unit of work.
   */
  transaction?: TransactionRunner<Tx> | false;
  /**
   * Begin a separate unit of work (own transaction, own completion) even
   * when one is already ambient (ABP's `requiresNew`). Default `false`: join
   * the ambient unit of work.
   */
  requiresNew?: boolean;
}

/**
 * Owns the ambient unit of work of one application (or one database). Pass
 * it to the bus builder — `builder.useUnitOfWork(manager)` — so
 * `bus.publish(event)` inside `manager.run` joins the unit of work.
 *
 * @typeParam Tx - the transaction type of the configured runner.
 */
export interface UnitOfWorkManager<Tx = unknown> extends UnitOfWorkAccessor {
  /**
   * The ambient unit of work of the calling async context, or `undefined`
   * outside `run`. `manager.current()?.tx` is the transaction to write with.
   */
  current(): UnitOfWork<Tx> | undefined;
  /**
   * Like {@link UnitOfWorkManager.current}, but throws when no unit of work is
   * ambient — for repositories that must never write outside one.
   *
   * @throws {UnitOfWorkStateError} outside `run`.
   */
  requireCurrent(): UnitOfWork<Tx>;
  /**
   * Runs `work` in a unit of work and resolves with its result.
   *
   * A new unit of work opens a transaction with the runner (if any), runs
   * `work` inside it with the unit of work ambient, then runs the
   * `beforeComplete` callbacks (core's deferred publishes, in-process
   * handlers, and whatever those register) still inside the transaction,
   * lets the transaction commit, and finally runs the `afterCommit`
   * callbacks. When `work`, a `beforeComplete` callback or the commit fails,
   * the transaction rolls back, no `afterCommit` callback runs, and the
   * returned promise rejects with that same error.
   *
   * Inside an open unit of work, `run` joins it (same transaction, same
   * completion) unless `{ requiresNew: true }`.
   */
  run<T>(work: (uow: UnitOfWork<Tx>) => Promise<T> | T, options?: RunOptions<Tx>): Promise<T>;
}

const DEFAULT_MAX_COMPLETION_CALLBACKS = 10_000;

class AsyncLocalUnitOfWorkManager<Tx> implements UnitOfWorkManager<Tx> {
  readonly #storage = new AsyncLocalStorage<UnitOfWorkImpl<Tx>>();
  readonly #transaction: TransactionRunner<Tx> | undefined;
  readonly #logger: Logger;
  readonly #maxCompletionCallbacks: number;

  constructor(options: UnitOfWorkManagerOptions<Tx>) {
    if (options.transaction !== undefined && typeof options.transaction !== 'function') {
      throw new ConfigurationError('createUnitOfWorkManager({ transaction }) expects a function (work) => …');
    }
    const max = options.maxCompletionCallbacks ?? DEFAULT_MAX_COMPLETION_CALLBACKS;
    if (!Number.isInteger(max) || max < 1) {
      throw new ConfigurationError('maxCompletionCallbacks must be a positive integer');
    }
    this.#transaction = options.transaction;
    this.#logger = options.logger ?? consoleLogger();
    this.#maxCompletionCallbacks = max;
  }

  current(): UnitOfWork<Tx> | undefined {
    return this.#storage.getStore();
  }

  requireCurrent(): UnitOfWork<Tx> {
    const current = this.#storage.getStore();
    if (!current)
      throw new UnitOfWorkStateError('No unit of work is active here; wrap the call in manager.run(…)');
    return current;
  }

  async run<T>(work: (uow: UnitOfWork<Tx>) => Promise<T> | T, options: RunOptions<Tx> = {}): Promise<T> {
    if (typeof work !== 'function') throw new TypeError('run() expects a work function');
    const { transaction, requiresNew = false } = options;
    if (transaction !== undefined && transaction !== false && typeof transaction !== 'function') {
      throw new ConfigurationError('run({ transaction }) expects a function (work) => … or false');
    }
    const ambient = this.#storage.getStore();
    if (ambient?.isOpen && !requiresNew) return work(ambient);
    const runner = transaction === false ? undefined : (transaction ?? this.#transaction);
    return this.#begin(work, runner, ambient?.isOpen ? ambient : undefined);
  }

  async #begin<T>(
    work: (uow: UnitOfWork<Tx>) => Promise<T> | T,
    runner: TransactionRunner<Tx> | undefined,
    outer: UnitOfWork<Tx> | undefined,
  ): Promise<T> {
    let attempt: { uow: UnitOfWorkImpl<Tx>; result?: T; failure?: { error: unknown } } | undefined;

    const body = async (tx: Tx): Promise<T> => {
      const previous = attempt;
      if (previous && previous.uow.state !== 'failed') {
        // The runner retries (e.g. a transient transaction error): the previous attempt is void.
        await previous.uow.failed(
          previous.failure?.error ?? new Error('The transaction runner retried the unit of work'),
        );
      }
      const uow = new UnitOfWorkImpl<Tx>({
        id: uuidv7(),
        isTransactional: runner !== undefined,
        outer,
        logger: this.#logger,
        maxCompletionCallbacks: this.#maxCompletionCallbacks,
      });
      uow.attach(tx);
      const current: NonNullable<typeof attempt> = { uow };
      attempt = current;
      try {
        current.result = await this.#storage.run(uow, async () => {
          const result = await work(uow);
          await uow.complete();
          return result;
        });
        return current.result;
      } catch (error) {
        current.failure = { error };
        throw error;
      }
    };

    let runnerFailure: { error: unknown } | undefined;
    try {
      if (runner) await runner(body);
      else await body(undefined as Tx);
    } catch (error) {
      runnerFailure = { error };
    }

    if (!attempt) {
      if (runnerFailure) throw runnerFailure.error; // could not even begin the transaction
      throw new ConfigurationError('The transaction runner resolved without calling the work function');
    }
    const { uow } = attempt;
    if (attempt.failure) {
      const { error } = attempt.failure;
      if (!runnerFailure) {
        this.#logger.error(
          'The transaction runner resolved although the unit of work failed: it must re-throw so the transaction rolls back',
          { unitOfWork: uow.id, error },
        );
      } else if (runnerFailure.error !== error) {
        this.#logger.warn(
          'The transaction runner rejected with a different error; re-throwing the original one',
          {
            unitOfWork: uow.id,
            error,
            runnerError: runnerFailure.error,
          },
        );
      }
      await uow.failed(error);
      throw error;
    }
    if (runnerFailure) {
      // Work and callbacks succeeded, but the commit failed.
      await uow.failed(runnerFailure.error);
      throw runnerFailure.error;
    }
    await uow.committed();
    return attempt.result as T;
  }
}

/**
 * Creates a unit-of-work manager on `AsyncLocalStorage`.
 *
 * ```ts
 * const uow = createUnitOfWorkManager<Prisma.TransactionClient>({
 *   transaction: (work) => prisma.$transaction(work),
 * });
 * const bus = createIntegrationEventBus({ service: 'ordering' })
 *   .useEventLog(prismaEventLog(prisma))
 *   .useUnitOfWork(uow)
 *   .build();
 *
 * await uow.run(async ({ tx }) => {
 *   await tx.order.create({ data });
 *   await bus.publish(new OrderPlaced({ orderId })); // written to the outbox at completion, in tx
 * });
 * ```
 *
 * @typeParam Tx - the transaction type of `options.transaction` (inferred
 *   when the runner's parameter is typed, otherwise give it explicitly).
 */
export function createUnitOfWorkManager<Tx = unknown>(
  options: UnitOfWorkManagerOptions<Tx> = {},
): UnitOfWorkManager<Tx> {
  return new AsyncLocalUnitOfWorkManager<Tx>(options);
}
