import type { LocalCopy, LocalEntityStore } from '@herald/entity-sync';
import type { ProductEto } from './contracts.js';
import type { DemoPrisma, DemoTx } from './database.js';

/**
 * Where ordering's EntitySynchronizer keeps its copies of catalog products: the
 * `product_copies` table of ordering's own database, written through the handler's
 * transaction. Deletions keep a tombstone with their version, so a late older event cannot
 * bring a product back.
 */
export class ProductCopies implements LocalEntityStore<ProductEto> {
  readonly #prisma: DemoPrisma;

  constructor(prisma: DemoPrisma) {
    this.#prisma = prisma;
  }

  async get(key: string, tx: unknown): Promise<LocalCopy<ProductEto> | undefined> {
    const row = await this.#db(tx).productCopy.findUnique({ where: { id: key } });
    if (!row) return undefined;
    return {
      entity: row.deleted ? undefined : { id: row.id, name: row.name ?? '', price: row.price ?? 0 },
      version: row.version ?? undefined,
      deleted: row.deleted,
      appliedAt: Number(row.appliedAt),
    };
  }

  async put(key: string, entity: ProductEto, version: number | undefined, tx: unknown): Promise<void> {
    await this.#writeIfNewer(key, { name: entity.name, price: entity.price, deleted: false }, version, tx);
  }

  async remove(key: string, version: number | undefined, tx: unknown): Promise<void> {
    await this.#writeIfNewer(key, { name: null, price: null, deleted: true }, version, tx);
  }

  async keys(tx: unknown): Promise<string[]> {
    const rows = await this.#db(tx).productCopy.findMany({ where: { deleted: false }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  /** Live copies (no tombstones). */
  async count(): Promise<number> {
    return this.#prisma.productCopy.count({ where: { deleted: false } });
  }

  /**
   * The version check is part of the UPDATE's WHERE clause, so the database decides it
   * atomically even if a live event and a backfill race (LocalEntityStore's contract). The
   * existence check comes first on purpose: on MariaDB an UPDATE of a missing row takes a gap
   * lock, and two handlers inserting different new products would then deadlock.
   */
  async #writeIfNewer(
    key: string,
    data: { name: string | null; price: number | null; deleted: boolean },
    version: number | undefined,
    tx: unknown,
  ): Promise<void> {
    const db = this.#db(tx);
    const appliedAt = BigInt(Date.now());
    const exists = await db.productCopy.findUnique({ where: { id: key }, select: { id: true } });
    if (!exists) {
      // A concurrent insert of the same key fails this one on the primary key: the handler retries.
      await db.productCopy.create({ data: { id: key, ...data, version: version ?? null, appliedAt } });
      return;
    }
    const olderOnly = version === undefined ? {} : { OR: [{ version: null }, { version: { lt: version } }] };
    await db.productCopy.updateMany({
      where: { id: key, ...olderOnly },
      data: { ...data, version: version ?? null, appliedAt },
    });
  }

  #db(tx: unknown): DemoTx {
    return (tx as DemoTx | undefined) ?? this.#prisma;
  }
}
