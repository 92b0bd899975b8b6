import { ConfigurationError } from '@herald/core';
import type { LocalCopy, LocalEntityStore } from '../local-store.js';
import { delegateName } from './prisma-internals.js';
import { type LedgerProvider, type SqlClient, VersionLedger } from './version-ledger.js';

/** A Prisma client (or the `tx` of one of its interactive transactions), as the store uses it. */
export interface PrismaClientLike extends SqlClient {
  /** Prisma's interactive transaction: runs `work` with a transaction client and commits when it resolves. */
  $transaction<R>(work: (tx: any) => Promise<R>, options?: Record<string, unknown>): Promise<R>;
}

/** Options of {@link prismaEntityStore}. */
export interface PrismaEntityStoreOptions<L> {
  /** The database behind the client (Prisma's provider name; MariaDB is `mysql`). */
  readonly provider: LedgerProvider;
  /** Prisma model of the local copies, e.g. `OrderProduct`: the synchronizer's entities are its rows. */
  readonly model: string;
  /** Name of this store in the version ledger. Default: the model name. Keep it stable. */
  readonly scope?: string;
  /** The unique filter of the row with this key (the synchronizer's key string). Default `{ id: key }`. */
  readonly where?: (key: string) => Record<string, unknown>;
  /** The synchronizer key of a local row (for `keys()`). Default `String(row.id)`. */
  readonly keyOf?: (row: L) => string;
  /** Table of the version ledger. Default `herald_entity_versions`. */
  readonly table?: string;
}

/**
 * A {@link LocalEntityStore} on a Prisma model: live copies are ordinary rows
 * of your model (query them like any other), versions and tombstones live in
 * Herald's version ledger table. Every write first claims its version in the
 * ledger with a conditional upsert (`INSERT … ON CONFLICT … DO UPDATE … WHERE
 * stored.version < excluded.version`), and touches the model only when the
 * claim wins — in the handler's transaction (`tx`), or in one of its own.
 */
export class PrismaEntityStore<L> implements LocalEntityStore<L> {
  readonly #prisma: PrismaClientLike;
  readonly #ledger: VersionLedger;
  readonly #delegate: string;
  readonly #scope: string;
  readonly #where: (key: string) => Record<string, unknown>;
  readonly #keyOf: (row: L) => string;

  constructor(prisma: PrismaClientLike, options: PrismaEntityStoreOptions<L>) {
    if (
      !prisma ||
      typeof prisma.$queryRawUnsafe !== 'function' ||
      typeof prisma.$transaction !== 'function'
    ) {
      throw new ConfigurationError('prismaEntityStore(prisma, options) expects a Prisma 7 client');
    }
    if (!options || typeof options.model !== 'string' || options.model.length === 0) {
      throw new ConfigurationError(
        'prismaEntityStore(prisma, { model }) needs the Prisma model of the copies',
      );
    }
    this.#prisma = prisma;
    this.#ledger = new VersionLedger(options.provider, options.table ?? 'herald_entity_versions');
    this.#delegate = delegateName(options.model);
    if (typeof (prisma as any)[this.#delegate]?.upsert !== 'function') {
      throw new ConfigurationError(`The Prisma client has no model "${options.model}"`);
    }
    this.#scope = options.scope ?? options.model;
    this.#where = options.where ?? ((key) => ({ id: key }));
    this.#keyOf = options.keyOf ?? ((row) => String((row as { id?: unknown }).id));
  }

  /** Creates the ledger table if it does not exist (or use the SQL of the README in your migrations). */
  async migrate(): Promise<void> {
    await this.#prisma.$executeRawUnsafe(this.#ledger.createTableSql());
  }

  async get(key: string, tx: unknown): Promise<LocalCopy<L> | undefined> {
    const db = this.#client(tx);
    const entry = await this.#ledger.get(db, this.#scope, key);
    const row = (await db[this.#delegate].findUnique({ where: this.#where(key) })) as L | null;
    if (!entry) return row ? { entity: row, version: undefined, deleted: false, appliedAt: 0 } : undefined;
    return {
      entity: entry.deleted ? undefined : (row ?? undefined),
      version: entry.version,
      deleted: entry.deleted,
      appliedAt: entry.appliedAt,
    };
  }

  async put(key: string, entity: L, version: number | undefined, tx: unknown): Promise<void> {
    await this.#inTransaction(tx, async (db) => {
      if (!(await this.#ledger.claim(db, this.#scope, key, version, false))) return;
      await db[this.#delegate].upsert({ where: this.#where(key), create: entity, update: entity });
    });
  }

  async remove(key: string, version: number | undefined, tx: unknown): Promise<void> {
    await this.#inTransaction(tx, async (db) => {
      if (!(await this.#ledger.claim(db, this.#scope, key, version, true))) return;
      await db[this.#delegate].deleteMany({ where: this.#where(key) });
    });
  }

  async keys(tx: unknown): Promise<string[]> {
    const rows = (await this.#client(tx)[this.#delegate].findMany()) as L[];
    return rows.map((row) => this.#keyOf(row));
  }

  #client(tx: unknown): any {
    if (tx === undefined || tx === null) return this.#prisma;
    const candidate = tx as Partial<SqlClient> & Record<string, unknown>;
    if (typeof candidate.$queryRawUnsafe !== 'function' || typeof candidate[this.#delegate] !== 'object') {
      throw new ConfigurationError(
        'prismaEntityStore expects `tx` to be an interactive transaction of the same Prisma client ' +
          '(the handler context’s tx when the inbox is a prismaEventLog on this database)',
      );
    }
    return candidate;
  }

  /** The claim and the write must commit together: without a caller's transaction, open one. */
  #inTransaction(tx: unknown, work: (db: any) => Promise<void>): Promise<void> {
    if (tx !== undefined && tx !== null) return work(this.#client(tx));
    return this.#prisma.$transaction((own) => work(own));
  }
}

/**
 * The local copies of a synchronizer as rows of a Prisma model:
 *
 * ```ts
 * const store = prismaEntityStore<OrderProduct>(prisma, { provider: 'postgresql', model: 'OrderProduct' });
 * await store.migrate();
 * new ProductSynchronizer({ events: ProductEvents, store, transaction: (work) => prisma.$transaction(work) });
 * ```
 */
export function prismaEntityStore<L>(
  prisma: PrismaClientLike,
  options: PrismaEntityStoreOptions<L>,
): PrismaEntityStore<L> {
  return new PrismaEntityStore<L>(prisma, options);
}
