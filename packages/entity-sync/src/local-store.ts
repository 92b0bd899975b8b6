import type { MemoryDatabase, MemoryTransaction } from '@herald/core';

/** What the synchronizer knows about a local copy (tombstones included). */
export interface LocalCopy<L> {
  /** The local entity; undefined for a tombstone. */
  readonly entity: L | undefined;
  /** Version of the last applied change (create, update or delete). */
  readonly version: number | undefined;
  /** True for a tombstone: the entity was deleted (its version still guards against older changes). */
  readonly deleted: boolean;
  /** When the last change was applied locally (epoch ms). */
  readonly appliedAt: number;
}

/**
 * Where a synchronizer keeps its local copies: your repository in your
 * database, reached through the handler's transaction `tx`. Deletions keep a
 * tombstone with their version so an older event (or a stale snapshot page)
 * cannot resurrect the entity.
 *
 * `put` and `remove` must write only when `version` is newer than the stored
 * version (or either is undefined) and decide that atomically in the database
 * (a conditional upsert: `... ON CONFLICT DO UPDATE ... WHERE stored.version <
 * excluded.version`), because a live event and a backfill page can race.
 */
export interface LocalEntityStore<L> {
  /** The local copy (or tombstone) of `key`, read in `tx` when given; undefined when there is none. */
  get(key: string, tx: unknown): Promise<LocalCopy<L> | undefined>;
  /** Stores `entity` under `key` with `version`, unless the stored version is not older (then nothing changes). */
  put(key: string, entity: L, version: number | undefined, tx: unknown): Promise<void>;
  /** Leaves a tombstone with `version` for `key`, unless the stored version is not older (then nothing changes). */
  remove(key: string, version: number | undefined, tx: unknown): Promise<void>;
  /** Keys of live (not deleted) copies, for drift checks and reconciliation. */
  keys(tx: unknown): Promise<string[]>;
}

interface Row<L> {
  entity: L | undefined;
  version: number | undefined;
  deleted: boolean;
  appliedAt: number;
}

/** A {@link LocalEntityStore} in a core `MemoryDatabase` table (tests, demos). */
export class MemoryEntityStore<L> implements LocalEntityStore<L> {
  readonly #database: MemoryDatabase;
  readonly #table: string;

  constructor(database: MemoryDatabase, table: string) {
    this.#database = database;
    this.#table = table;
  }

  async get(key: string, tx: unknown): Promise<LocalCopy<L> | undefined> {
    return this.#reader(tx).get<Row<L>>(this.#table, key);
  }

  async put(key: string, entity: L, version: number | undefined, tx: unknown): Promise<void> {
    this.#writeIfNewer(key, { entity, version, deleted: false, appliedAt: Date.now() }, tx);
  }

  async remove(key: string, version: number | undefined, tx: unknown): Promise<void> {
    this.#writeIfNewer(key, { entity: undefined, version, deleted: true, appliedAt: Date.now() }, tx);
  }

  /** The memory database has no isolation, so the version check runs at commit time, atomically. */
  #writeIfNewer(key: string, row: Row<L>, tx: unknown): void {
    const write = () => {
      const current = this.#database.get<Row<L>>(this.#table, key);
      if (
        current &&
        current.version !== undefined &&
        row.version !== undefined &&
        current.version >= row.version
      )
        return;
      this.#database.put(this.#table, key, { ...row, appliedAt: Date.now() });
    };
    if (tx) (tx as MemoryTransaction).onCommit(write);
    else write();
  }

  async keys(): Promise<string[]> {
    return this.#database
      .keys(this.#table)
      .filter((key) => !this.#database.get<Row<L>>(this.#table, key)?.deleted);
  }

  /** Live local entities by key (committed state). */
  entities(): Map<string, L> {
    const result = new Map<string, L>();
    for (const key of this.#database.keys(this.#table)) {
      const row = this.#database.get<Row<L>>(this.#table, key);
      if (row && !row.deleted && row.entity !== undefined) result.set(key, row.entity);
    }
    return result;
  }

  #reader(tx: unknown): { get<T>(table: string, key: string): T | undefined } {
    return (tx as MemoryTransaction | undefined) ?? this.#database;
  }
}
