import { ConfigurationError } from '@herald/core';
import type { CapturedChange, EntityEventPublisher } from '../entity-event-publisher.js';
import { EntityEventsConflictError, EntityEventsUnsupportedError } from '../errors.js';
import { delegateName, passThrough } from './prisma-internals.js';

type Row = Record<string, any>;
type Args = Record<string, any>;

/** The model writes that produce entity events. */
export const WRITE_OPERATIONS: ReadonlySet<string> = new Set([
  'create',
  'update',
  'upsert',
  'delete',
  'createMany',
  'createManyAndReturn',
  'updateMany',
  'updateManyAndReturn',
  'deleteMany',
]);

/** What the capture needs to know besides the write itself. */
export interface CaptureSettings {
  readonly publisher: EntityEventPublisher;
  /** Logical entity type of a Prisma model. */
  entityTypeOf(model: string): string;
  /** The version column maintained for this entity type, if any. */
  versionFieldOf(entityType: string): string | undefined;
  /** Version of newly created rows (absent: the column's default). */
  readonly initialVersion: (() => number | bigint) | undefined;
}

/** One write of a selected model. */
export interface Write {
  readonly model: string;
  readonly operation: string;
  readonly args: Args;
}

/**
 * Runs one write of a selected model in the transaction of client `tx` and
 * publishes its events with `{ tx }`, so both commit or roll back together.
 * `run` executes the write itself with adjusted arguments: the extension's
 * `query(args)` when the call already runs in `tx`, otherwise the same
 * operation re-issued on `tx`. Helper reads and bulk conversions always go
 * through `tx`.
 */
export async function captureWrite(
  settings: CaptureSettings,
  write: Write,
  tx: any,
  run: (args: Args) => Promise<unknown>,
): Promise<unknown> {
  return new WriteCapture(settings, write, tx).execute(run);
}

class WriteCapture {
  readonly #settings: CaptureSettings;
  readonly #write: Write;
  readonly #tx: any;
  readonly #delegate: any;
  readonly #entityType: string;
  readonly #versionField: string | undefined;

  constructor(settings: CaptureSettings, write: Write, tx: any) {
    this.#settings = settings;
    this.#write = write;
    this.#tx = tx;
    this.#delegate = tx?.[delegateName(write.model)];
    if (!this.#delegate || typeof this.#delegate.findMany !== 'function') {
      throw new ConfigurationError(
        `The transaction used for entity events has no model "${write.model}": ` +
          'it must be an interactive transaction client of the same Prisma client',
      );
    }
    this.#entityType = settings.entityTypeOf(write.model);
    this.#versionField = settings.versionFieldOf(this.#entityType);
  }

  async execute(run: (args: Args) => Promise<unknown>): Promise<unknown> {
    const args = this.#write.args ?? {};
    switch (this.#write.operation) {
      case 'create': {
        const row = (await run({ ...withoutProjection(args), data: this.#created(args.data) })) as Row;
        await this.#publish([{ operation: 'created', row }]);
        return this.#project(row, args);
      }
      case 'update': {
        const row = (await run({ ...withoutProjection(args), data: this.#updated(args.data) })) as Row;
        await this.#publish([{ operation: 'updated', row }]);
        return this.#project(row, args);
      }
      case 'upsert': {
        // Whether it creates or updates is only known by looking first (same transaction).
        const existing = await this.#call('findUnique', { where: args.where });
        const row = (await run({
          ...withoutProjection(args),
          create: this.#created(args.create),
          update: this.#updated(args.update),
        })) as Row;
        await this.#publish([{ operation: existing ? 'updated' : 'created', row }]);
        return this.#project(row, args);
      }
      case 'delete': {
        // A selection may name relations, which are gone once the row is: read it first.
        const selected = args.select
          ? await this.#call('findUnique', { where: args.where, select: args.select })
          : undefined;
        const row = (await run(withoutProjection(args))) as Row;
        await this.#publish([{ operation: 'deleted', row: this.#bumped(row) }]);
        return args.select ? selected : dropOmitted(row, args.omit);
      }
      case 'createMany': {
        const rows = await this.#bulk('createManyAndReturn', {
          data: this.#createdMany(args.data),
          ...(args.skipDuplicates !== undefined ? { skipDuplicates: args.skipDuplicates } : {}),
        });
        await this.#publish(rows.map((row) => ({ operation: 'created', row })));
        return { count: rows.length };
      }
      case 'createManyAndReturn': {
        const rows = (await run({ ...withoutProjection(args), data: this.#createdMany(args.data) })) as Row[];
        await this.#publish(rows.map((row) => ({ operation: 'created', row })));
        return Promise.all(rows.map((row) => this.#project(row, args)));
      }
      case 'updateMany': {
        const rows = await this.#bulk('updateManyAndReturn', {
          ...args,
          data: this.#updated(args.data),
        });
        await this.#publish(rows.map((row) => ({ operation: 'updated', row })));
        return { count: rows.length };
      }
      case 'updateManyAndReturn': {
        const rows = (await run({ ...withoutProjection(args), data: this.#updated(args.data) })) as Row[];
        await this.#publish(rows.map((row) => ({ operation: 'updated', row })));
        return Promise.all(rows.map((row) => this.#project(row, args)));
      }
      case 'deleteMany':
        return this.#deleteMany(args);
      default:
        throw new EntityEventsUnsupportedError(`"${this.#write.operation}" is not a write Herald captures`);
    }
  }

  /**
   * `deleteMany` returns no rows. With versions, the rows are first bumped with
   * `updateManyAndReturn`, which locks them and yields the delete's version;
   * without, they are read first and the delete is narrowed to exactly them —
   * a concurrent change in between makes the counts differ and rolls back.
   */
  async #deleteMany(args: Args): Promise<{ count: number }> {
    const rows = this.#versionField
      ? await this.#bulk('updateManyAndReturn', {
          where: args.where ?? {},
          data: { [this.#versionField]: { increment: 1 } },
          ...(args.limit !== undefined ? { limit: args.limit } : {}),
        })
      : ((await this.#call('findMany', {
          where: args.where ?? {},
          ...(args.limit !== undefined ? { take: args.limit } : {}),
        })) as Row[]);
    if (rows.length === 0) return { count: 0 };
    const { count } = (await this.#call('deleteMany', { where: this.#keysFilter(rows) })) as {
      count: number;
    };
    if (count !== rows.length) {
      throw new EntityEventsConflictError(
        `${this.#write.model}.deleteMany read ${rows.length} rows but deleted ${count}: ` +
          'a concurrent transaction changed them; nothing was deleted or published, retry',
      );
    }
    await this.#publish(rows.map((row) => ({ operation: 'deleted', row })));
    return { count };
  }

  /** A bulk variant that returns rows; refused where the database has none (MySQL/MariaDB). */
  async #bulk(operation: 'createManyAndReturn' | 'updateManyAndReturn', args: Args): Promise<Row[]> {
    if (typeof this.#delegate[operation] !== 'function') {
      throw new EntityEventsUnsupportedError(
        `${this.#write.model}.${this.#write.operation} publishes entity events through ${operation}, ` +
          'which this database does not have (MySQL/MariaDB): write the rows one at a time',
      );
    }
    return (await this.#call(operation, args)) as Row[];
  }

  /** Another operation on the transaction client, not captured again. */
  #call(operation: string, args: Args): Promise<unknown> {
    return passThrough(() => this.#delegate[operation](args));
  }

  #publish(changes: Array<Omit<CapturedChange<Row>, 'entityType'>>): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    return this.#settings.publisher.publish(
      changes.map((change) => ({ ...change, entityType: this.#entityType })),
      { tx: this.#tx },
    );
  }

  /** The user's `select` / `omit` applied to the full row the capture needed. */
  async #project(row: Row, args: Args): Promise<unknown> {
    if (args.select) {
      const fields = Object.entries(args.select).filter(([, value]) => value !== false && value != null);
      const scalarsOnly = fields.every(([field, value]) => value === true && field in row);
      if (scalarsOnly) return Object.fromEntries(fields.map(([field]) => [field, row[field]]));
      // Relations or counts: read them in the same transaction.
      return this.#call('findUniqueOrThrow', { where: this.#uniqueWhere(row), select: args.select });
    }
    return dropOmitted(row, args.omit);
  }

  /** Prisma's unique filter of a row: `{ id }`, or `{ a_b: { a, b } }` for a composite key. */
  #uniqueWhere(row: Row): Args {
    const fields = this.#keyFields(row);
    if (fields.length === 1) return { [fields[0]!]: row[fields[0]!] };
    return { [fields.join('_')]: pick(row, fields) };
  }

  #keysFilter(rows: readonly Row[]): Args {
    const fields = this.#keyFields(rows[0]!);
    if (fields.length === 1) return { [fields[0]!]: { in: rows.map((row) => row[fields[0]!]) } };
    return { OR: rows.map((row) => pick(row, fields)) };
  }

  /** Key fields, by the names `keys()` of the mapping (or the default keys) give them. */
  #keyFields(row: Row): string[] {
    return Object.keys(this.#settings.publisher.keysOf(this.#entityType, row));
  }

  #created(data: unknown): unknown {
    const field = this.#versionField;
    const initial = this.#settings.initialVersion;
    if (!field || !initial || !isPlainObject(data) || field in data) return data;
    return { ...data, [field]: initial() };
  }

  #createdMany(data: unknown): unknown {
    return Array.isArray(data) ? data.map((item) => this.#created(item)) : this.#created(data);
  }

  /** `version: { increment: 1 }` unless the caller sets the version itself. */
  #updated(data: unknown): unknown {
    const field = this.#versionField;
    if (!field || !isPlainObject(data) || field in data) return data;
    return { ...data, [field]: { increment: 1 } };
  }

  /** A deleted row carries the delete's version: one above its last. */
  #bumped(row: Row): Row {
    const field = this.#versionField;
    if (!field) return row;
    const value = row[field];
    if (typeof value === 'number') return { ...row, [field]: value + 1 };
    if (typeof value === 'bigint') return { ...row, [field]: value + 1n };
    return row;
  }
}

function withoutProjection(args: Args): Args {
  const { select: _select, omit: _omit, ...rest } = args;
  return rest;
}

function dropOmitted(row: Row, omit: Record<string, unknown> | undefined): Row {
  if (!omit) return row;
  const result = { ...row };
  for (const [field, value] of Object.entries(omit)) if (value === true) delete result[field];
  return result;
}

function pick(row: Row, fields: readonly string[]): Row {
  return Object.fromEntries(fields.map((field) => [field, row[field]]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
