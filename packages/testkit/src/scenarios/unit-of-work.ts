import { AsyncLocalStorage } from 'node:async_hooks';
import type { UnitOfWorkAccessor, UnitOfWorkScope } from '@herald/core';

/**
 * The smallest unit of work that satisfies core's port, over a store's
 * transaction: `run(work)` opens a transaction, runs `work` and then the
 * completion callbacks (where the bus writes the outbox) in it, commits,
 * and only then calls `afterCommit` callbacks. `@herald/uow` is the real
 * one; the testkit cannot depend on it (uow tests use the testkit).
 */
export class ScenarioUnitOfWork implements UnitOfWorkAccessor {
  readonly #scopes = new AsyncLocalStorage<UnitOfWorkScope>();
  readonly #transaction: <T>(work: (tx: unknown) => Promise<T>) => Promise<T>;

  constructor(transaction: <T>(work: (tx: unknown) => Promise<T>) => Promise<T>) {
    this.#transaction = transaction;
  }

  current(): UnitOfWorkScope | undefined {
    return this.#scopes.getStore();
  }

  /** Runs `work` as one unit of work; rejects (after rolling back) when `work` or a completion callback rejects. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const afterCommit: Array<() => void> = [];
    const result = await this.#transaction(async (tx) => {
      const completion: Array<() => Promise<void>> = [];
      const failures: Array<(error: unknown) => void> = [];
      const scope: UnitOfWorkScope = {
        tx,
        beforeComplete: (callback) => completion.push(callback),
        afterCommit: (callback) => afterCommit.push(callback),
        onFailure: (callback) => failures.push(callback),
      };
      try {
        const value = await this.#scopes.run(scope, work);
        // A completion callback may register more (publish → collect → publish).
        for (let next = completion.shift(); next; next = completion.shift())
          await this.#scopes.run(scope, next);
        return value;
      } catch (error) {
        for (const callback of failures) callback(error);
        throw error;
      }
    });
    for (const callback of afterCommit) callback();
    return result;
  }
}
