import fc from 'fast-check';
import { type EntityChange, keysAsString } from '../../src/index.js';

/** The entity of the property tests. */
export interface Product {
  id: string;
  name: string;
  price: number;
}

export type Op = { kind: 'upsert'; id: string; price: number } | { kind: 'delete'; id: string };
export type Delivery = { kind: 'created' | 'updated' | 'deleted'; change: EntityChange<Product> };

/** Writes and deletes on four keys (few keys: many collisions). */
export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('upsert' as const),
    id: fc.constantFrom('a', 'b', 'c', 'd'),
    price: fc.integer({ min: 0, max: 1000 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c', 'd') }),
);

/** Replays operations on a "source" with per-entity versions (never reset by a delete). */
export function runSource(ops: readonly Op[]): { rows: Map<string, Product>; emitted: Delivery[] } {
  const rows = new Map<string, Product>();
  const versions = new Map<string, number>();
  const emitted: Delivery[] = [];
  for (const op of ops) {
    const version = (versions.get(op.id) ?? 0) + 1;
    if (op.kind === 'upsert') {
      const existed = rows.has(op.id);
      const row = { id: op.id, name: `product ${op.id}`, price: op.price };
      rows.set(op.id, row);
      versions.set(op.id, version);
      emitted.push({ kind: existed ? 'updated' : 'created', change: change(row, version) });
    } else if (rows.has(op.id)) {
      const row = rows.get(op.id)!;
      rows.delete(op.id);
      versions.set(op.id, version);
      emitted.push({ kind: 'deleted', change: change(row, version) });
    }
  }
  return { rows, emitted };
}

function change(row: Product, version: number): EntityChange<Product> {
  const keys = { id: row.id };
  return {
    entityType: 'catalog.Product',
    keys,
    keysAsString: keysAsString(keys),
    version,
    entity: { ...row },
  };
}

/** The emitted changes plus some duplicates, shuffled with the given random stream. */
export function deliveriesOf(
  emitted: readonly Delivery[],
  duplicates: readonly number[],
  randomness: fc.Stream<number>,
): Delivery[] {
  const deliveries = [
    ...emitted,
    ...duplicates.filter(() => emitted.length > 0).map((i) => emitted[i % emitted.length]!),
  ];
  const random = randomness[Symbol.iterator]();
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(random.next().value! * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }
  return deliveries;
}

/** Deliveries dealt round-robin to `lanes` consumers that apply them concurrently. */
export function lanesOf<T>(deliveries: readonly T[], lanes: number): T[][] {
  return Array.from({ length: lanes }, (_, lane) => deliveries.filter((_, i) => i % lanes === lane));
}

/** The source's rows in key order. */
export function sortedRows(rows: Map<string, Product>): Product[] {
  return [...rows.values()].sort((x, y) => x.id.localeCompare(y.id));
}
