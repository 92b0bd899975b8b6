import { ConfigurationError, type IntegrationEventBus, type UnitOfWorkAccessor } from '@herald/core';
import { type EntityEventOptions, EntityEventPublisher } from '../entity-event-publisher.js';
import { EntityEventsTransactionError } from '../errors.js';
import { type EntitySelector, isSelected } from '../selectors.js';
import { aggregatesOf } from './aggregate-writes.js';
import { type CaptureSettings, captureWrite, WRITE_OPERATIONS } from './capture.js';
import { dataOf, refuseNestedWrites } from './nested-writes.js';
import {
  delegateName,
  isPassThrough,
  isTransactionClient,
  passThrough,
  type QueryCall,
  relationsOf,
  transactionIdOf,
  transactionOf,
} from './prisma-internals.js';

/** Automatic version column (ABP's `IHasEntityVersion`). */
export interface VersioningOptions {
  /** The version column. Default `version`. */
  readonly field?: string;
  /** Entity types whose version the extension maintains. Default: every selected one. */
  readonly models?: readonly EntitySelector[];
  /**
   * Version given to created rows; default: the column's default. Use a
   * time-based start (`() => Date.now()`, in a `BigInt` column) when keys are
   * reused after a delete, so a re-created row is newer than its tombstone.
   */
  readonly initial?: () => number | bigint;
}

/** Options of {@link heraldEntityEvents}. */
export interface PrismaEntityEventsOptions extends Omit<EntityEventOptions, 'defaultVersion'> {
  /** The bus whose outbox receives the events (its event log must be on this database). */
  readonly bus: IntegrationEventBus;
  /**
   * The `@herald/uow` manager (any accessor works) whose units of work run in
   * interactive transactions of this Prisma client. Inside `uow.run`, writes
   * to selected models run on the unit of work's transaction, with their events.
   */
  readonly unitOfWork?: UnitOfWorkAccessor;
  /**
   * The logical entity type of a model, seen by selectors and mappings and
   * carried in events. Default: the model name (`Product`). Give a namespace
   * for prefix selectors: `(model) => \`catalog.${model}\``.
   */
  readonly entityType?: (model: string) => string;
  /** Maintain a version column on writes (`true`: the `version` column of every selected model). */
  readonly versioning?: boolean | VersioningOptions;
  /** Options of the transactions opened for writes made outside any transaction. */
  readonly transaction?: {
    /** How long to wait for a connection to start the transaction (ms); Prisma's default when absent. */
    maxWait?: number;
    /** How long the transaction may run before Prisma rolls it back (ms); Prisma's default when absent. */
    timeout?: number;
    /** Prisma's isolation level name (`Serializable`, `ReadCommitted`, …); the database's default when absent. */
    isolationLevel?: string;
  };
}

/** What the function form of a Prisma client extension returns (it adds no types). */
interface NoExtensionArgs {
  result: {};
  model: {};
  query: {};
  client: {};
}

/**
 * The extension for `prisma.$extends(…)`, plus the helper for writes in your
 * own interactive transactions.
 */
export interface EntityEventsExtension {
  (
    client: any,
  ): {
    /** What Prisma's `$extends` sees of the extended client. */
    $extends: {
      /** The extension's type arguments: it adds no result, model, query or client members. */
      extArgs: NoExtensionArgs;
    };
  };
  /**
   * `tx` (the client of your own `prisma.$transaction(async (tx) => …)`) with
   * its writes to selected models captured: each write and its events run in
   * `tx`. An aggregate passed as a write's `data` (an `AggregateRoot`, or an
   * object with recorded events) is written as a plain copy of its own fields,
   * and its recorded events are published in `tx` after the write — any model,
   * selected or not. Works on extended and plain clients alike.
   *
   * @throws {ConfigurationError} when `tx` is not an interactive-transaction client.
   */
  withEntityEvents<T extends object>(tx: T): T;
  /** The publisher turning captured changes into events. */
  readonly publisher: EntityEventPublisher;
}

/**
 * A Prisma 7 client extension that publishes `EntityCreated/Updated/Deleted`
 * events for writes to selected models, written to the outbox in the same
 * transaction as the write (ABP's pre-defined entity events):
 *
 * ```ts
 * const entityEvents = heraldEntityEvents({ bus, unitOfWork: uow, selectors: [EntitySelectors.model('Product')],
 *   mappings: { Product: { events: ProductEvents, keys: (p) => ({ id: p.id }), toEto } }, versioning: true });
 * const prisma = basePrisma.$extends(entityEvents);
 * await prisma.product.update({ where: { id }, data });          // own transaction: the update + its event
 * await uow.run(() => prisma.product.update({ where: { id }, data })); // the unit of work's transaction
 * await prisma.$transaction((tx) => entityEvents.withEntityEvents(tx).product.update({ where: { id }, data }));
 * ```
 *
 * Where the write runs:
 * - inside a unit of work with a transaction: on that transaction;
 * - outside any transaction: in a transaction the extension opens;
 * - on the `tx` of your own `prisma.$transaction`: refused with
 *   {@link EntityEventsTransactionError} (the extension cannot reach that
 *   transaction) unless it is the unit of work's — use `withEntityEvents(tx)`.
 *
 * Writes to models that are not selected pass through untouched.
 */
export function heraldEntityEvents(options: PrismaEntityEventsOptions): EntityEventsExtension {
  if (!options || typeof options !== 'object')
    throw new ConfigurationError('heraldEntityEvents() needs options');
  if (!options.bus || typeof options.bus.publish !== 'function') {
    throw new ConfigurationError('heraldEntityEvents({ bus }) needs the integration event bus');
  }
  if (options.unitOfWork !== undefined && typeof options.unitOfWork.current !== 'function') {
    throw new ConfigurationError('unitOfWork must be a unit-of-work manager (with current())');
  }
  const versioning = resolveVersioning(options.versioning);
  const entityTypeOf = options.entityType ?? ((model: string) => model);
  const versionFieldOf = (entityType: string): string | undefined =>
    versioning && (!versioning.models || isSelected(versioning.models, entityType))
      ? versioning.field
      : undefined;
  const publisher = new EntityEventPublisher(options.bus, {
    ...options,
    keyValue: options.keyValue ?? defaultKeyValue,
    defaultVersion: (entityType, row) => {
      const field = versionFieldOf(entityType);
      return field ? versionNumber((row as Record<string, unknown>)[field]) : undefined;
    },
  });
  const settings: CaptureSettings = {
    publisher,
    entityTypeOf,
    versionFieldOf,
    initialVersion: versioning?.initial,
  };
  const selected = (model: string | undefined): model is string =>
    model !== undefined && publisher.selects(entityTypeOf(model));
  const guard = nestedWriteGuard(selected);

  const extension = (client: any) => {
    const relations = relationsOf(client);
    return client.$extends({
      name: 'herald-entity-events',
      query: {
        $allModels: {
          async $allOperations(call: QueryCall) {
            const { model, operation, args, query } = call;
            if (!WRITE_OPERATIONS.has(operation) || model === undefined || isPassThrough())
              return query(args);
            guard(relations, model, operation, args);
            if (!selected(model)) return query(args);
            const write = { model, operation, args };
            const current = transactionOf(call);
            if (current === null) {
              throw new ConfigurationError(
                'heraldEntityEvents cannot tell whether this Prisma version runs a query in a transaction; ' +
                  'use a supported Prisma 7 release',
              );
            }
            const uowTx = options.unitOfWork?.current()?.tx;
            if (current) {
              // Already in a transaction: join it only when it is the unit of work's.
              if (current.kind === 'itx' && uowTx !== undefined && transactionIdOf(uowTx) === current.id) {
                return captureWrite(settings, write, uowTx, (adjusted) => query(adjusted));
              }
              throw notJoinable(model, operation, current.kind);
            }
            const rerun = (tx: any) => (adjusted: Record<string, any>) =>
              passThrough(() => tx[delegateName(model)][operation](adjusted));
            if (uowTx !== undefined) return captureWrite(settings, write, uowTx, rerun(uowTx));
            return client.$transaction(
              (tx: any) => captureWrite(settings, write, tx, rerun(tx)),
              options.transaction,
            );
          },
        },
      },
    });
  };

  return Object.assign(extension, {
    publisher,
    withEntityEvents: <T extends object>(tx: T): T =>
      withEntityEvents(tx, settings, selected, guard, options.bus),
  }) as unknown as EntityEventsExtension;
}

type NestedWriteGuard = (
  relations: ReturnType<typeof relationsOf>,
  model: string,
  operation: string,
  args: Record<string, any> | undefined,
) => void;

/** Refuses writes that would change selected models through nested writes (their events would be lost). */
function nestedWriteGuard(selected: (model: string | undefined) => model is string): NestedWriteGuard {
  return (relations, model, operation, args) => {
    if (!relations || !args) return;
    for (const data of dataOf(operation, args)) refuseNestedWrites(relations, model, data, selected);
  };
}

function notJoinable(model: string, operation: string, kind: string): EntityEventsTransactionError {
  const where =
    kind === 'batch'
      ? 'a batch prisma.$transaction([…])'
      : 'prisma.$transaction(async (tx) => …) that is not the unit of work’s';
  return new EntityEventsTransactionError(
    `${model}.${operation} ran inside ${where}; heraldEntityEvents cannot write its events into that ` +
      'transaction, so nothing was written. Write through `entityEvents.withEntityEvents(tx)` ' +
      '(the same tx, with events), or run the work in the unit of work given as `unitOfWork`.',
  );
}

/** Wraps a transaction client so writes of selected models go through the capture. */
function withEntityEvents<T extends object>(
  tx: T,
  settings: CaptureSettings,
  selected: (model: string | undefined) => model is string,
  guard: NestedWriteGuard,
  bus: IntegrationEventBus,
): T {
  if (!isTransactionClient(tx)) {
    throw new ConfigurationError(
      'withEntityEvents(tx) expects the client of prisma.$transaction(async (tx) => …): ' +
        'writes and events need one transaction',
    );
  }
  const relations = relationsOf(tx);
  const delegates = new Map<PropertyKey, unknown>();
  return new Proxy(tx, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === '$transaction' && typeof value === 'function') {
        // A nested transaction (savepoint) keeps capturing.
        return (work: unknown, ...rest: unknown[]) =>
          typeof work === 'function'
            ? value.call(
                target,
                (inner: object) => work(withEntityEvents(inner, settings, selected, guard, bus)),
                ...rest,
              )
            : value.call(target, work, ...rest);
      }
      const model = (value as { $name?: unknown } | null)?.$name;
      if (typeof model !== 'string') return value;
      let delegate = delegates.get(property);
      if (!delegate) {
        delegate = new Proxy(value as object, {
          get(delegateTarget, operation, delegateReceiver) {
            const method = Reflect.get(delegateTarget, operation, delegateReceiver);
            if (typeof operation !== 'string' || !WRITE_OPERATIONS.has(operation)) return method;
            return async (given: Record<string, any> = {}) => {
              // Aggregates passed as data (seen here, before Prisma clones the args): their
              // recorded events are published in this transaction, after the write.
              const { aggregates, args } = aggregatesOf(operation, given);
              guard(relations, model, operation, args);
              const result = selected(model)
                ? await captureWrite(settings, { model, operation, args }, target, (adjusted) =>
                    passThrough(() => method.call(delegateTarget, adjusted)),
                  )
                : await passThrough(() => method.call(delegateTarget, args));
              if (aggregates.length > 0) await bus.publishRecordedEvents(aggregates, { tx: target });
              return result;
            };
          },
        });
        delegates.set(property, delegate);
      }
      return delegate;
    },
  });
}

interface ResolvedVersioning {
  readonly field: string;
  readonly models: readonly EntitySelector[] | undefined;
  readonly initial: (() => number | bigint) | undefined;
}

function resolveVersioning(option: boolean | VersioningOptions | undefined): ResolvedVersioning | undefined {
  if (!option) return undefined;
  const settings = option === true ? {} : option;
  const field = settings.field ?? 'version';
  if (typeof field !== 'string' || field.length === 0) {
    throw new ConfigurationError('versioning.field must be a column name');
  }
  if (settings.initial !== undefined && typeof settings.initial !== 'function') {
    throw new ConfigurationError('versioning.initial must be a function returning the first version');
  }
  return { field, models: settings.models, initial: settings.initial };
}

/** BigInt ids become strings (keys travel as JSON). */
function defaultKeyValue(value: unknown): string | number | undefined {
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

function versionNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}
