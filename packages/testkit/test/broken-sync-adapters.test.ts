import { describe, expect, it } from 'vitest';
import {
  type ConformanceCase,
  localEntityStoreCases,
  runLocalEntityStoreCase,
  runUnitOfWorkCase,
  unitOfWorkCases,
} from '../src/index.js';
import { type EntityStoreDefects, referenceEntityStore } from './helpers/reference-entity-store.js';
import { referenceUnitOfWork, type UnitOfWorkDefects } from './helpers/reference-unit-of-work.js';

/**
 * The local-entity-store and unit-of-work suites catch broken adapters: each
 * test breaks the reference adapter in one way and proves that the cases
 * guarding that behaviour reject, and that they pass on the unbroken one.
 */

function caseNamed<C>(cases: readonly ConformanceCase<C>[], fragment: string): ConformanceCase<C> {
  const found = cases.find((testCase) => testCase.name.includes(fragment));
  if (!found) throw new Error(`No case matches "${fragment}"`);
  return found;
}

async function expectStoreCasesToCatch(defects: EntityStoreDefects, fragments: string[]): Promise<void> {
  for (const fragment of fragments) {
    const testCase = caseNamed(localEntityStoreCases, fragment);
    await expect(
      runLocalEntityStoreCase(testCase, referenceEntityStore(defects)),
      fragment,
    ).rejects.toThrow();
    await expect(
      runLocalEntityStoreCase(testCase, referenceEntityStore()),
      fragment,
    ).resolves.toBeUndefined();
  }
}

async function expectUnitOfWorkCasesToCatch(defects: UnitOfWorkDefects, fragments: string[]): Promise<void> {
  for (const fragment of fragments) {
    const testCase = caseNamed(unitOfWorkCases, fragment);
    await expect(runUnitOfWorkCase(testCase, referenceUnitOfWork(defects)), fragment).rejects.toThrow();
    await expect(runUnitOfWorkCase(testCase, referenceUnitOfWork()), fragment).resolves.toBeUndefined();
  }
}

describe('the local-entity-store suite catches broken stores', () => {
  it('a store that ignores versions fails the version, tombstone and concurrency cases', async () => {
    await expectStoreCasesToCatch({ ignoresVersions: true }, [
      'an older (or equal) version never overwrites',
      'that an older put cannot resurrect',
      'two concurrent transactions',
    ]);
  });

  it('a store that deletes instead of keeping a tombstone fails the tombstone cases', async () => {
    await expectStoreCasesToCatch({ deletesInsteadOfTombstone: true }, [
      'remove leaves a tombstone',
      'an undefined version always writes',
      'writes through tx commit',
    ]);
  });

  it('a store that writes outside the transaction fails the rollback case', async () => {
    await expectStoreCasesToCatch({ writesOutsideTx: true }, ['rolls back leaves nothing']);
  });

  it('a store whose keys include tombstones fails the keys case', async () => {
    await expectStoreCasesToCatch({ keysIncludeTombstones: true }, ['keys lists the live copies only']);
  });

  it('every case passes on the reference store', async () => {
    for (const testCase of localEntityStoreCases) {
      await expect(
        runLocalEntityStoreCase(testCase, referenceEntityStore()),
        testCase.name,
      ).resolves.toBeUndefined();
    }
  });
});

describe('the unit-of-work suite catches broken accessors', () => {
  it('an accessor that leaks its scope across concurrent units of work fails the isolation case', async () => {
    await expectUnitOfWorkCasesToCatch({ leaksScope: true }, ['concurrent units of work']);
  });

  it('an accessor that runs afterCommit on rollback fails the afterCommit and beforeComplete cases', async () => {
    await expectUnitOfWorkCasesToCatch({ afterCommitOnRollback: true }, [
      'afterCommit runs after a successful commit only',
      'a rejection rolls back without afterCommit',
    ]);
  });

  it('an accessor that runs beforeComplete after the commit fails the beforeComplete case', async () => {
    await expectUnitOfWorkCasesToCatch({ beforeCompleteAfterCommit: true }, [
      'beforeComplete work runs before the commit',
    ]);
  });

  it('an accessor that runs onFailure after a commit fails the onFailure case', async () => {
    await expectUnitOfWorkCasesToCatch({ onFailureOnCommit: true }, ['onFailure (optional)']);
  });
});
