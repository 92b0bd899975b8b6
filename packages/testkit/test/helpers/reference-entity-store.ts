import { MemoryDatabase, type MemoryTransaction } from '@herald/core';
import type { LocalCopyLike, LocalEntityStoreFixture, LocalEntityStoreLike } from '../../src/index.js';

/** How a reference store can be broken, to prove that the suite notices. */
export interface EntityStoreDefects {
  /** put and remove write whatever the versions say. */
  readonly ignoresVersions?: boolean;
  /** remove deletes the copy instead of keeping a tombstone. */
  readonly deletesInsteadOfTombstone?: boolean;
  /** Writes apply at once, outside the caller's transaction. */
  readonly writesOutsideTx?: boolean;
  /** keys lists tombstones as well as live copies. */
  readonly keysIncludeTombstones?: boolean;
}

export interface TestEntity {
  readonly id: string;
  readonly revision: number;
}

/**
 * A small LocalEntityStore on core's MemoryDatabase (the testkit cannot use
 * entity-sync's): writes through `tx` apply when it commits, and the version
 * check runs then, so concurrent transactions cannot lose a newer version.
 */
export class ReferenceEntityStore implements LocalEntityStoreLike<TestEntity> {
  readonly #database: MemoryDatabase;
  readonly #defects: EntityStoreDefects;

  constructor(database: MemoryDatabase, defects: EntityStoreDefects = {}) {
    this.#database = database;
    this.#defects = defects;
  }

  async get(key: string): Promise<LocalCopyLike<TestEntity> | undefined> {
    return this.#database.get<LocalCopyLike<TestEntity>>('copies', key);
  }

  async put(key: string, entity: TestEntity, version: number | undefined, tx: unknown): Promise<void> {
    this.#write(key, { entity, version, deleted: false, appliedAt: Date.now() }, tx);
  }

  async remove(key: string, version: number | undefined, tx: unknown): Promise<void> {
    this.#write(key, { entity: undefined, version, deleted: true, appliedAt: Date.now() }, tx);
  }

  async keys(): Promise<string[]> {
    const keys = this.#database.keys('copies');
    if (this.#defects.keysIncludeTombstones) return keys;
    return keys.filter((key) => !this.#database.get<LocalCopyLike<TestEntity>>('copies', key)?.deleted);
  }

  #write(key: string, copy: LocalCopyLike<TestEntity>, tx: unknown): void {
    const apply = () => {
      const stored = this.#database.get<LocalCopyLike<TestEntity>>('copies', key);
      const older =
        stored?.version !== undefined && copy.version !== undefined && stored.version >= copy.version;
      if (older && !this.#defects.ignoresVersions) return;
      if (copy.deleted && this.#defects.deletesInsteadOfTombstone) this.#database.delete('copies', key);
      else this.#database.put('copies', key, copy);
    };
    if (tx && !this.#defects.writesOutsideTx) (tx as MemoryTransaction).onCommit(apply);
    else apply();
  }
}

/** A fixture factory for the local-entity-store suite on a (possibly broken) reference store. */
export function referenceEntityStore(
  defects: EntityStoreDefects = {},
): () => Promise<LocalEntityStoreFixture<TestEntity>> {
  return async () => {
    const database = new MemoryDatabase();
    return {
      store: new ReferenceEntityStore(database, defects),
      transaction: (work) => database.transaction(work),
      entity: (id, revision) => ({ id, revision }),
    };
  };
}
