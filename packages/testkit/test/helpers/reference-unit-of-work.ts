import { AsyncLocalStorage } from 'node:async_hooks';
import { MemoryDatabase, type MemoryTransaction, type UnitOfWorkScope } from '@herald/core';
import type { UnitOfWorkFixture } from '../../src/index.js';

/** How a reference unit of work can be broken, to prove that the suite notices. */
export interface UnitOfWorkDefects {
  /** The scope lives in one module-wide variable instead of the async context. */
  readonly leaksScope?: boolean;
  /** afterCommit callbacks run after a rollback too. */
  readonly afterCommitOnRollback?: boolean;
  /** beforeComplete callbacks run after the commit, outside the transaction. */
  readonly beforeCompleteAfterCommit?: boolean;
  /** onFailure callbacks run after a commit too. */
  readonly onFailureOnCommit?: boolean;
}

interface Scope extends UnitOfWorkScope {
  readonly before: Array<() => Promise<void>>;
  readonly after: Array<() => void>;
  readonly failure: Array<(error: unknown) => void>;
}

function scopeOn(tx: MemoryTransaction): Scope {
  const before: Array<() => Promise<void>> = [];
  const after: Array<() => void> = [];
  const failure: Array<(error: unknown) => void> = [];
  return {
    tx,
    before,
    after,
    failure,
    beforeComplete: (work) => before.push(work),
    afterCommit: (callback) => after.push(callback),
    onFailure: (callback) => failure.push(callback),
  };
}

async function runBeforeComplete(scope: Scope | undefined): Promise<void> {
  for (let next = scope?.before.shift(); next; next = scope?.before.shift()) await next();
}

/**
 * A small unit of work on AsyncLocalStorage over core's MemoryDatabase (the
 * testkit cannot use @herald/uow): the reference the suite passes on, and,
 * with defects, the broken accessors it must fail.
 */
export function referenceUnitOfWork(defects: UnitOfWorkDefects = {}): () => Promise<UnitOfWorkFixture> {
  return async () => {
    const database = new MemoryDatabase();
    const storage = new AsyncLocalStorage<Scope>();
    let leaked: Scope | undefined;
    const current = (): Scope | undefined => (defects.leaksScope ? leaked : storage.getStore());

    const run = async <T>(work: () => Promise<T>): Promise<T> => {
      let scope: Scope | undefined;
      try {
        const result = await database.transaction(async (tx) => {
          scope = scopeOn(tx);
          const inScope = async () => {
            const value = await work();
            if (!defects.beforeCompleteAfterCommit) await runBeforeComplete(scope);
            return value;
          };
          if (!defects.leaksScope) return storage.run(scope, inScope);
          leaked = scope;
          try {
            return await inScope();
          } finally {
            leaked = undefined;
          }
        });
        if (defects.beforeCompleteAfterCommit) await runBeforeComplete(scope);
        for (const callback of scope?.after ?? []) callback();
        if (defects.onFailureOnCommit) for (const callback of scope?.failure ?? []) callback(undefined);
        return result;
      } catch (error) {
        for (const callback of scope?.failure ?? []) callback(error);
        if (defects.afterCommitOnRollback) for (const callback of scope?.after ?? []) callback();
        throw error;
      }
    };

    return {
      accessor: { current },
      run,
      write: async (tx, key) => (tx as MemoryTransaction).put('markers', key, true),
      committed: async (key) => database.get('markers', key) !== undefined,
    };
  };
}
