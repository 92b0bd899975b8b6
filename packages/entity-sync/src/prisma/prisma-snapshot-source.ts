import { ConfigurationError } from '@herald/core';
import type { SnapshotPage, SnapshotSource } from '../snapshots.js';

/** The part of a Prisma model delegate (`prisma.product`) a snapshot reads with. */
export interface FindManyDelegate<T> {
  /** Prisma's `findMany`: the rows matching `where`, sorted by `orderBy`, at most `take`. */
  findMany(args: {
    where?: Record<string, unknown>;
    orderBy?: Array<Record<string, 'asc' | 'desc'>>;
    take?: number;
  }): PromiseLike<T[]>;
}

/** Options of {@link prismaSnapshotSource}. */
export interface PrismaSnapshotSourceOptions<T, E> {
  /** Key field, or fields of a composite key in order (their values joined with "," are `keysAsString`). */
  readonly key: string | readonly string[];
  /** The version field; absent when the model is not versioned. */
  readonly version?: string;
  /** Row → the transfer object your entity events carry. */
  readonly toEto: (row: T) => E;
  /** Extra filter (e.g. `{ deletedAt: null }` for soft deletes). */
  readonly where?: Record<string, unknown>;
}

type KeyValue = string | number | bigint;

/**
 * Serves backfill snapshots from a Prisma model with keyset pagination
 * (`WHERE key > cursor ORDER BY key LIMIT n`): each page is one indexed range
 * read, however deep the backfill is, and rows written meanwhile are never
 * skipped or repeated — their live events carry on from there.
 *
 * ```ts
 * const source = prismaSnapshotSource(prisma.product, { key: 'id', version: 'version', toEto });
 * app.get('/products/snapshot', async (req) => source.page({ after: req.query.after, limit: 500 }));
 * ```
 *
 * The cursor is opaque JSON of the last key (numbers and BigInts survive the round trip).
 */
export function prismaSnapshotSource<T, E>(
  delegate: FindManyDelegate<T>,
  options: PrismaSnapshotSourceOptions<T, E>,
): SnapshotSource<E> {
  if (!delegate || typeof delegate.findMany !== 'function') {
    throw new ConfigurationError(
      'prismaSnapshotSource(delegate, options) expects a model, e.g. prisma.product',
    );
  }
  const fields = typeof options?.key === 'string' ? [options.key] : [...(options?.key ?? [])];
  if (fields.length === 0 || fields.some((field) => typeof field !== 'string' || field.length === 0)) {
    throw new ConfigurationError('prismaSnapshotSource needs the key field(s)');
  }
  if (typeof options.toEto !== 'function')
    throw new ConfigurationError('prismaSnapshotSource needs toEto(row)');
  const versionField = options.version;

  return {
    async page({ after, limit }): Promise<SnapshotPage<E>> {
      if (!Number.isInteger(limit) || limit < 1)
        throw new ConfigurationError('limit must be a positive integer');
      const cursor = after === undefined ? undefined : decodeCursor(after, fields.length);
      const filters = [options.where, cursor && keysAfter(fields, cursor)].filter(Boolean) as Record<
        string,
        unknown
      >[];
      const rows = await delegate.findMany({
        ...(filters.length > 0 ? { where: filters.length === 1 ? filters[0]! : { AND: filters } } : {}),
        orderBy: fields.map((field) => ({ [field]: 'asc' as const })),
        take: limit,
      });
      const items = rows.map((row) => {
        const record = row as Record<string, unknown>;
        const version = versionField === undefined ? undefined : record[versionField];
        return {
          keysAsString: fields.map((field) => String(record[field])).join(','),
          version: version === null || version === undefined ? undefined : Number(version),
          entity: options.toEto(row),
        };
      });
      const last = rows.at(-1) as Record<string, unknown> | undefined;
      return rows.length === limit && last
        ? { items, next: encodeCursor(fields.map((field) => last[field] as KeyValue)) }
        : { items };
    },
  };
}

/** `(a, b) > (x, y)` spelled for Prisma: `a > x OR (a = x AND b > y)`. */
function keysAfter(fields: readonly string[], cursor: readonly KeyValue[]): Record<string, unknown> {
  const alternatives = fields.map((field, index) => ({
    ...Object.fromEntries(fields.slice(0, index).map((earlier, j) => [earlier, cursor[j]])),
    [field]: { gt: cursor[index] },
  }));
  return alternatives.length === 1 ? alternatives[0]! : { OR: alternatives };
}

function encodeCursor(values: readonly KeyValue[]): string {
  return JSON.stringify(values.map((value) => (typeof value === 'bigint' ? { n: value.toString() } : value)));
}

function decodeCursor(cursor: string, length: number): KeyValue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== length) {
    throw new ConfigurationError(`"${cursor}" is not a cursor of this snapshot`);
  }
  return parsed.map((value: unknown) => {
    if (typeof value === 'string' || typeof value === 'number') return value;
    if (typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'string') {
      return BigInt((value as { n: string }).n);
    }
    throw new ConfigurationError(`"${cursor}" is not a cursor of this snapshot`);
  });
}
