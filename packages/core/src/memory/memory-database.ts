/**
 * A tiny in-memory database with transactions, for the embedded default, for
 * demos and for tests. Writes made through a transaction are applied together
 * on commit and dropped on rollback; that is all the isolation it offers.
 */
export class MemoryDatabase {
  /** The database's name (default `memory`): the memory stores' `databaseName`. */
  readonly name: string;
  readonly #tables = new Map<string, Map<string, unknown>>();

  constructor(name = 'memory') {
    this.name = name;
  }

  /** Runs `work` in a transaction: commits when it resolves, rolls back when it rejects. */
  async transaction<T>(work: (tx: MemoryTransaction) => Promise<T>): Promise<T> {
    const tx = new MemoryTransaction(this);
    let result: T;
    try {
      result = await work(tx);
    } catch (error) {
      tx.rollback();
      throw error;
    }
    tx.commit();
    return result;
  }

  /** Reads a committed row. */
  get<T>(table: string, key: string): T | undefined {
    return this.#tables.get(table)?.get(key) as T | undefined;
  }

  /** All committed rows of a table, in insertion order. */
  all<T>(table: string): T[] {
    return [...(this.#tables.get(table)?.values() ?? [])] as T[];
  }

  /** Keys of a table's committed rows, in insertion order. */
  keys(table: string): string[] {
    return [...(this.#tables.get(table)?.keys() ?? [])];
  }

  /** Writes a row outside any transaction. */
  put(table: string, key: string, value: unknown): void {
    const rows = this.#tables.get(table) ?? new Map<string, unknown>();
    this.#tables.set(table, rows);
    rows.set(key, value);
  }

  /** Deletes a row outside any transaction (nothing happens when there is none). */
  delete(table: string, key: string): void {
    this.#tables.get(table)?.delete(key);
  }
}

/** A transaction of a {@link MemoryDatabase}. */
export class MemoryTransaction {
  /** The database the transaction writes to on commit. */
  readonly database: MemoryDatabase;
  #state: 'open' | 'committed' | 'rolled-back' = 'open';
  readonly #writes = new Map<string, Map<string, { value: unknown; deleted: boolean }>>();
  readonly #onCommit: Array<() => void> = [];
  readonly #onRollback: Array<() => void> = [];

  constructor(database: MemoryDatabase) {
    this.database = database;
  }

  /** `open` until `commit()` or `rollback()`; staging writes or callbacks after that throws. */
  get state(): 'open' | 'committed' | 'rolled-back' {
    return this.#state;
  }

  /** Stages a row write. */
  put(table: string, key: string, value: unknown): void {
    this.#assertOpen();
    this.#staged(table).set(key, { value, deleted: false });
  }

  /** Stages a row deletion. */
  delete(table: string, key: string): void {
    this.#assertOpen();
    this.#staged(table).set(key, { value: undefined, deleted: true });
  }

  /** Reads a row, seeing this transaction's own writes. */
  get<T>(table: string, key: string): T | undefined {
    const staged = this.#writes.get(table)?.get(key);
    if (staged) return staged.deleted ? undefined : (staged.value as T);
    return this.database.get<T>(table, key);
  }

  /** Runs `callback` when the transaction commits (stores use this to apply their own writes). */
  onCommit(callback: () => void): void {
    this.#assertOpen();
    this.#onCommit.push(callback);
  }

  /** Runs `callback` when the transaction rolls back. */
  onRollback(callback: () => void): void {
    this.#assertOpen();
    this.#onRollback.push(callback);
  }

  /** Applies the staged writes, then runs the `onCommit` callbacks; throws when not open. */
  commit(): void {
    this.#assertOpen();
    this.#state = 'committed';
    for (const [table, rows] of this.#writes) {
      for (const [key, write] of rows) {
        if (write.deleted) this.database.delete(table, key);
        else this.database.put(table, key, write.value);
      }
    }
    for (const callback of this.#onCommit) callback();
  }

  /** Drops the staged writes and runs the `onRollback` callbacks; does nothing when no longer open. */
  rollback(): void {
    if (this.#state !== 'open') return;
    this.#state = 'rolled-back';
    for (const callback of this.#onRollback) callback();
  }

  #staged(table: string): Map<string, { value: unknown; deleted: boolean }> {
    const rows = this.#writes.get(table) ?? new Map<string, { value: unknown; deleted: boolean }>();
    this.#writes.set(table, rows);
    return rows;
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw new Error(`The transaction is already ${this.#state}`);
  }
}

/** True when `tx` is a memory transaction (stores accept nothing else as `tx`). */
export function isMemoryTransaction(tx: unknown): tx is MemoryTransaction {
  return tx instanceof MemoryTransaction;
}
