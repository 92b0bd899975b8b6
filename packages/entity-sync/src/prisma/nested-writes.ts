import { EntityEventsUnsupportedError } from '../errors.js';
import type { RelationMap } from './prisma-internals.js';

type Args = Record<string, any>;

/**
 * Nested writes change related rows inside one Prisma query, where the
 * extension sees only the top-level model. Changing a selected model that way
 * would lose its events, so it is refused. `connect` / `disconnect` pass: on
 * the side holding the foreign key they change only the written row.
 */
const ALLOWED = new Set(['connect', 'disconnect']);

/** The data objects a write operation carries. */
export function dataOf(operation: string, args: Args): unknown[] {
  switch (operation) {
    case 'upsert':
      return [args.create, args.update];
    default:
      return [args.data];
  }
}

/**
 * Throws {@link EntityEventsUnsupportedError} when `data` (of `model`) writes
 * into a selected model through a relation, at any depth.
 */
export function refuseNestedWrites(
  relations: RelationMap,
  model: string,
  data: unknown,
  selected: (model: string) => boolean,
  path = model,
): void {
  for (const item of Array.isArray(data) ? data : [data]) {
    if (!isObject(item)) continue;
    const fields = relations.get(model);
    if (!fields) continue;
    for (const [field, value] of Object.entries(item)) {
      const target = fields.get(field);
      if (!target || !isObject(value)) continue;
      for (const [operation, payload] of Object.entries(value)) {
        if (ALLOWED.has(operation)) continue;
        if (selected(target)) {
          throw new EntityEventsUnsupportedError(
            `${path}.${field}.${operation} writes ${target} rows inside a nested write, where their entity ` +
              `events cannot be captured. Write the ${target} rows with their own calls (or connect them).`,
          );
        }
        for (const nested of nestedData(operation, payload)) {
          refuseNestedWrites(relations, target, nested, selected, `${path}.${field}`);
        }
      }
    }
  }
}

/** The data objects inside one nested operation (`create`, `update: { where, data }`, `upsert`…). */
function nestedData(operation: string, payload: unknown): unknown[] {
  const items = Array.isArray(payload) ? payload : [payload];
  return items.flatMap((item) => {
    if (!isObject(item)) return [];
    switch (operation) {
      case 'create':
        return [item];
      case 'createMany':
        return [item.data];
      case 'connectOrCreate':
        return [item.create];
      case 'upsert':
        return [item.create, item.update];
      case 'update':
      case 'updateMany':
        return 'data' in item ? [item.data] : [item];
      default:
        return [];
    }
  });
}

function isObject(value: unknown): value is Args {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
