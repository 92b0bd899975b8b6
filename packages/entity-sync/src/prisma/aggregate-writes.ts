import { AggregateRoot, recordedEvents } from '@herald/core';

type Args = Record<string, any>;

/** What a write carries of aggregates: the ones with recorded events, and args Prisma can take. */
export interface AggregateWrite {
  /** Entities passed as data that recorded events: published in the write's transaction. */
  readonly aggregates: readonly object[];
  /** The args with every aggregate replaced by a plain copy of its own fields. */
  readonly args: Args;
}

/** An aggregate passed as data: an `AggregateRoot`, or any object that recorded events. */
function isAggregate(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value instanceof AggregateRoot || recordedEvents(value).length > 0)
  );
}

/**
 * Finds aggregates passed as a write's data (`create`, `update`, `upsert`'s
 * `create`/`update`, `createMany`'s list) so the extension can publish their
 * recorded events with the write. Prisma receives plain copies of their own
 * enumerable fields (the recording is not one of them).
 */
export function aggregatesOf(operation: string, args: Args | undefined): AggregateWrite {
  if (!args || typeof args !== 'object') return { aggregates: [], args: args ?? {} };
  const fields = operation === 'upsert' ? ['create', 'update'] : ['data'];
  const aggregates: object[] = [];
  const plain = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(plain);
    if (!isAggregate(value)) return value;
    if (recordedEvents(value).length > 0) aggregates.push(value);
    return { ...value };
  };
  const adjusted: Args = { ...args };
  for (const field of fields) if (field in adjusted) adjusted[field] = plain(adjusted[field]);
  return aggregates.length === 0 && !fields.some((f) => adjusted[f] !== args[f])
    ? { aggregates, args }
    : { aggregates, args: adjusted };
}
