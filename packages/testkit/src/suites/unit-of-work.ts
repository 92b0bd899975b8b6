import type { UnitOfWorkAccessor, UnitOfWorkScope } from '@herald/core';
import { expect } from 'vitest';
import { uniqueSuffix } from '../internal/random.js';
import { sleep } from '../internal/wait.js';
import { RollbackSignal } from './assertions.js';
import { type ConformanceCase, describeCases, runWithFixture } from './case.js';

/** What each unit-of-work case receives. */
export interface UnitOfWorkFixture {
  /** The accessor under test (core's `UnitOfWorkAccessor` port). */
  readonly accessor: UnitOfWorkAccessor;
  /**
   * Runs `work` in a new unit of work with a database transaction, the way
   * an application does (`manager.run(work)`): resolves with its result
   * after the commit, rejects with its error after the rollback.
   */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Writes a marker row `key` through the unit of work's transaction `tx`. */
  write(tx: unknown, key: string): Promise<void>;
  /** Whether the marker row `key` is committed (read outside any transaction). */
  committed(key: string): Promise<boolean>;
  /** Called after each case (close clients, drop data). */
  readonly cleanup?: () => Promise<void>;
}

/** Options of {@link describeUnitOfWorkConformance}. */
export interface UnitOfWorkConformanceOptions {
  /** Shown in the vitest `describe` title. */
  readonly name: string;
  /** Creates a fresh fixture for one case. */
  readonly create: () => Promise<UnitOfWorkFixture>;
  /** Per-case vitest timeout; default 30 s. */
  readonly timeoutMs?: number;
}

type UnitOfWorkCase = ConformanceCase<UnitOfWorkFixture>;

function markerMaker(): () => string {
  const prefix = `uow-${uniqueSuffix()}`;
  let next = 0;
  return () => `${prefix}-${++next}`;
}

function scopeOf(accessor: UnitOfWorkAccessor, what: string): UnitOfWorkScope {
  const scope = accessor.current();
  expect(scope, what).toBeDefined();
  return scope as UnitOfWorkScope;
}

/** Settles after a macrotask, so a continuation really leaves the current tick. */
function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const noScopeOutside: UnitOfWorkCase = {
  name: 'there is no scope outside a unit of work, before or after one',
  async run({ accessor, run }) {
    expect(accessor.current(), 'before any unit of work').toBeUndefined();
    await run(async () => {
      scopeOf(accessor, 'inside');
    });
    expect(accessor.current(), 'after a committed unit of work').toBeUndefined();
    await expect(
      run(async () => {
        throw new RollbackSignal();
      }),
    ).rejects.toBeInstanceOf(RollbackSignal);
    expect(accessor.current(), 'after a failed unit of work').toBeUndefined();
  },
};

const scopeAcrossAwaits: UnitOfWorkCase = {
  name: 'inside, current() is the scope with its tx, across awaits, timers and nested async calls',
  async run({ accessor, run }) {
    await run(async () => {
      const scope = scopeOf(accessor, 'at the start');
      expect(scope.tx, 'the scope has the transaction').toBeDefined();
      await sleep(5);
      expect(accessor.current(), 'after a timer').toBe(scope);
      await nextMacrotask();
      expect(accessor.current(), 'after setImmediate').toBe(scope);
      const nested = async (depth: number): Promise<UnitOfWorkScope | undefined> => {
        await Promise.resolve();
        if (depth > 0) return nested(depth - 1);
        await sleep(1);
        return accessor.current();
      };
      expect(await nested(3), 'in nested async calls').toBe(scope);
      const parallel = await Promise.all([nested(1), nested(2)]);
      expect(parallel, 'in parallel nested calls').toEqual([scope, scope]);
      const inCallback = await new Promise<UnitOfWorkScope | undefined>((resolve) =>
        setTimeout(() => resolve(accessor.current()), 1),
      );
      expect(inCallback, 'in a timer callback').toBe(scope);
    });
  },
};

const concurrentIsolation: UnitOfWorkCase = {
  name: "concurrent units of work each see their own scope and tx, never each other's",
  async run({ accessor, run }) {
    // Both units interleave: each records what current() says at every step while the other runs.
    const unit = (steps: number) =>
      run(async () => {
        const own = scopeOf(accessor, 'at the start');
        const seen: Array<UnitOfWorkScope | undefined> = [];
        for (let step = 0; step < steps; step++) {
          await sleep(2 + (step % 3));
          seen.push(accessor.current());
        }
        return { own, seen };
      });
    const [a, b, c] = await Promise.all([unit(8), unit(6), unit(10)]);
    const units = [a, b, c];
    for (const [index, { own, seen }] of units.entries()) {
      for (const scope of seen) expect(scope, `unit ${index} after an await`).toBe(own);
    }
    expect(new Set(units.map(({ own }) => own)).size, 'three units, three scopes').toBe(3);
    expect(new Set(units.map(({ own }) => own.tx)).size, 'three units, three transactions').toBe(3);
  },
};

const beforeCompleteRunsBeforeCommit: UnitOfWorkCase = {
  name: 'beforeComplete work runs before the commit, in the transaction; a rejection rolls back without afterCommit',
  async run({ accessor, run, write, committed }) {
    const marker = markerMaker();
    const [written, writtenByCallback] = [marker(), marker()];
    let ranBeforeCommit: boolean | undefined;
    await run(async () => {
      const scope = scopeOf(accessor, 'inside');
      await write(scope.tx, written);
      scope.beforeComplete(async () => {
        ranBeforeCommit = !(await committed(written));
        await write(scope.tx, writtenByCallback);
      });
    });
    expect(ranBeforeCommit, 'beforeComplete ran, before the commit').toBe(true);
    expect(await committed(written), 'the work committed').toBe(true);
    expect(await committed(writtenByCallback), "beforeComplete's write committed with it").toBe(true);

    const [rolledBack, afterCallback] = [marker(), marker()];
    let afterCommitRan = false;
    const failure = new RollbackSignal();
    await expect(
      run(async () => {
        const scope = scopeOf(accessor, 'inside');
        await write(scope.tx, rolledBack);
        scope.afterCommit(() => {
          afterCommitRan = true;
        });
        scope.beforeComplete(async () => {
          await write(scope.tx, afterCallback);
          throw failure;
        });
      }),
    ).rejects.toBe(failure);
    await sleep(20);
    expect(await committed(rolledBack), 'the work of the failed unit').toBe(false);
    expect(await committed(afterCallback), 'the beforeComplete write of the failed unit').toBe(false);
    expect(afterCommitRan, 'afterCommit of a rolled-back unit').toBe(false);
  },
};

const afterCommitOnlyAfterCommit: UnitOfWorkCase = {
  name: 'afterCommit runs after a successful commit only, never when the work fails',
  async run({ accessor, run, write, committed }) {
    const marker = markerMaker();
    const first = marker();
    let sawCommitted: Promise<boolean> | undefined;
    await run(async () => {
      const scope = scopeOf(accessor, 'inside');
      await write(scope.tx, first);
      scope.afterCommit(() => {
        sawCommitted = committed(first);
      });
    });
    await sleep(20);
    expect(sawCommitted, 'afterCommit ran').toBeDefined();
    expect(await sawCommitted, 'afterCommit ran after the commit').toBe(true);

    const failed = marker();
    let ranOnFailure = false;
    await expect(
      run(async () => {
        const scope = scopeOf(accessor, 'inside');
        await write(scope.tx, failed);
        scope.afterCommit(() => {
          ranOnFailure = true;
        });
        throw new RollbackSignal();
      }),
    ).rejects.toBeInstanceOf(RollbackSignal);
    await sleep(20);
    expect(ranOnFailure, 'afterCommit of a unit whose work failed').toBe(false);
    expect(await committed(failed), 'the failed unit rolled back').toBe(false);
  },
};

const onFailureOnRollback: UnitOfWorkCase = {
  name: 'onFailure (optional) runs with the error after a rollback, never after a commit',
  async run({ accessor, run, write, committed }, skip) {
    const marker = markerMaker();
    const probe = await run(async () => typeof scopeOf(accessor, 'inside').onFailure);
    if (probe !== 'function') {
      (skip ?? (() => undefined))('the scope has no onFailure (it is optional)');
      return;
    }
    let afterSuccess = false;
    await run(async () => {
      scopeOf(accessor, 'inside').onFailure?.(() => {
        afterSuccess = true;
      });
    });

    const failed = marker();
    const failure = new RollbackSignal();
    let seen: { error: unknown; committed: Promise<boolean> } | undefined;
    await expect(
      run(async () => {
        const scope = scopeOf(accessor, 'inside');
        await write(scope.tx, failed);
        scope.onFailure?.((error) => {
          seen = { error, committed: committed(failed) };
        });
        throw failure;
      }),
    ).rejects.toBe(failure);
    await sleep(20);
    expect(afterSuccess, 'onFailure of a committed unit').toBe(false);
    expect(seen, 'onFailure ran').toBeDefined();
    expect(seen?.error, 'with the error of the unit').toBe(failure);
    expect(await seen?.committed, 'after the rollback').toBe(false);
  },
};

/** Every check a unit-of-work accessor (core's `UnitOfWorkAccessor`, e.g. `@herald/uow`'s manager) must pass. */
export const unitOfWorkCases: readonly UnitOfWorkCase[] = [
  noScopeOutside,
  scopeAcrossAwaits,
  concurrentIsolation,
  beforeCompleteRunsBeforeCommit,
  afterCommitOnlyAfterCommit,
  onFailureOnRollback,
];

/** Runs one unit-of-work case against a fresh fixture from `create`. */
export function runUnitOfWorkCase(
  testCase: UnitOfWorkCase,
  create: () => Promise<UnitOfWorkFixture>,
  skip?: (reason: string) => void,
): Promise<void> {
  return runWithFixture(testCase, create, skip);
}

/**
 * Registers the unit-of-work conformance suite with vitest: one `it` per
 * case in {@link unitOfWorkCases}.
 *
 * ```ts
 * describeUnitOfWorkConformance({
 *   name: 'uow on a memory database',
 *   create: async () => {
 *     const database = new MemoryDatabase();
 *     const manager = createUnitOfWorkManager({ transaction: database.transaction.bind(database) });
 *     return {
 *       accessor: manager,
 *       run: (work) => manager.run(work),
 *       write: async (tx, key) => (tx as MemoryTransaction).put('markers', key, true),
 *       committed: async (key) => database.get('markers', key) !== undefined,
 *     };
 *   },
 * });
 * ```
 */
export function describeUnitOfWorkConformance(options: UnitOfWorkConformanceOptions): void {
  describeCases(
    `UnitOfWorkAccessor conformance: ${options.name}`,
    unitOfWorkCases,
    (testCase, skip) => runUnitOfWorkCase(testCase, options.create, skip),
    options.timeoutMs,
  );
}
