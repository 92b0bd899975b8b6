import { AsyncLocalStorage } from 'node:async_hooks';

/*
 * Everything the entity-events extension knows about Prisma beyond its public
 * API lives here, so a Prisma upgrade that changes it breaks one module, and
 * the tests (which exercise each path) say so. Each helper fails closed: when
 * it cannot tell, the caller refuses the write rather than publishing outside
 * the change's transaction.
 */

/** The transaction a query runs in, as Prisma hands it to query extensions (`__internalParams.transaction`). */
export interface QueryTransaction {
  readonly kind: string;
  readonly id?: unknown;
}

/** What a query-extension callback receives, with the internal parameters Prisma 7 passes along. */
export interface QueryCall {
  readonly model?: string;
  readonly operation: string;
  readonly args: Record<string, any>;
  query(args: Record<string, any>): Promise<unknown>;
  readonly __internalParams?: { transaction?: QueryTransaction };
}

/**
 * The transaction of a query: `undefined` outside any, `{ kind: 'itx', id }`
 * in an interactive transaction, `{ kind: 'batch' }` in `$transaction([…])`.
 * `null` when this Prisma version does not say (unsupported: fail closed).
 */
export function transactionOf(call: QueryCall): QueryTransaction | undefined | null {
  const params = call.__internalParams;
  if (!params || typeof params !== 'object' || !('transaction' in params)) return null;
  return params.transaction ?? undefined;
}

/** Interactive-transaction clients carry their transaction id under this symbol (Prisma ≥ 7). */
const SCOPE = Symbol.for('prisma.client.transaction.scope_context');

/** The id of the interactive transaction `tx` belongs to, if it is a transaction client. */
export function transactionIdOf(tx: unknown): unknown {
  const scope = (tx as Record<symbol, { kind?: string; txId?: unknown } | undefined> | null)?.[SCOPE];
  return scope?.kind === 'nested' ? scope.txId : undefined;
}

/**
 * True for the client of `prisma.$transaction(async (tx) => …)`: Prisma's
 * `TransactionClient` type has no `$connect` (public behaviour), and a
 * transaction id (internal, double check).
 */
export function isTransactionClient(tx: unknown): boolean {
  const candidate = tx as { $connect?: unknown; $executeRawUnsafe?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.$executeRawUnsafe === 'function' &&
    typeof candidate.$connect !== 'function' &&
    transactionIdOf(tx) !== undefined
  );
}

/** Prisma's client property of a model: `OrderProduct` → `orderProduct`. */
export function delegateName(model: string): string {
  return model.charAt(0).toLowerCase() + model.slice(1);
}

/**
 * Marks writes the capture re-issues itself on a transaction client: when that
 * client carries the extension too, the re-issued call must pass straight
 * through instead of being captured (and published) a second time.
 */
const passThroughScope = new AsyncLocalStorage<true>();

export function passThrough<T>(work: () => PromiseLike<T>): Promise<T> {
  // Prisma's promises are lazy: `await` inside the scope so the query starts (and sees the mark) here.
  return passThroughScope.run(true, async () => await work());
}

export function isPassThrough(): boolean {
  return passThroughScope.getStore() === true;
}

/** Relation fields by model: field name → related model. */
export type RelationMap = ReadonlyMap<string, ReadonlyMap<string, string>>;

/**
 * The relation fields of every model, from the data model Prisma keeps on the
 * client (`_runtimeDataModel`). `undefined` when this Prisma version does not
 * have it: nested writes are then not checked (see the README).
 */
export function relationsOf(client: unknown): RelationMap | undefined {
  const holder = client as { _runtimeDataModel?: unknown; _originalClient?: { _runtimeDataModel?: unknown } };
  const dataModel = (holder?._runtimeDataModel ?? holder?._originalClient?._runtimeDataModel) as
    | { models?: Record<string, { fields?: Array<{ name?: unknown; kind?: unknown; type?: unknown }> }> }
    | undefined;
  if (!dataModel?.models || typeof dataModel.models !== 'object') return undefined;
  const relations = new Map<string, Map<string, string>>();
  for (const [model, { fields = [] }] of Object.entries(dataModel.models)) {
    const byField = new Map<string, string>();
    for (const field of fields) {
      if (field.kind === 'object' && typeof field.name === 'string' && typeof field.type === 'string') {
        byField.set(field.name, field.type);
      }
    }
    relations.set(model, byField);
  }
  return relations;
}
