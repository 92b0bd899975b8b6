import { ConfigurationError } from '@herald/core';

/**
 * The part of a Prisma 7 client Herald uses: raw SQL and interactive
 * transactions. Any generated `PrismaClient` (with any models, extended or
 * not) fits, and so does the `tx` of `prisma.$transaction(async (tx) => …)`
 * for the raw methods.
 */
export interface PrismaClientLike {
  /** Runs a statement with positional parameters; resolves to the number of rows it changed. */
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  /** Runs a query with positional parameters; resolves to its rows. */
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
  /** Prisma's interactive transaction: runs `work` with a transaction client and commits when it resolves. */
  $transaction<R>(
    work: (tx: any) => Promise<R>,
    options?: { maxWait?: number; timeout?: number; isolationLevel?: any },
  ): Promise<R>;
}

/** What raw statements run on: the client itself or one of its interactive transactions. */
export interface SqlExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
}

/** Options of Prisma interactive transactions that Herald opens. */
export interface TransactionOptions {
  /** Longest wait to start a transaction (a pool connection, or SQLite's turn). Default 10 s. */
  maxWait?: number;
  /** Longest a transaction may stay open; keep it above the bus's `handlerTimeout`. Default 60 s. */
  timeout?: number;
}

/**
 * The client a transaction or an extended client was made from. Prisma keeps it
 * as `_originalClient` (not a public API): used only to catch a `tx` from another
 * client, and skipped when absent.
 */
function baseClient(client: unknown): unknown {
  const base = (client as { _originalClient?: unknown } | null)?._originalClient;
  return typeof base === 'object' && base !== null ? base : undefined;
}

/** Checks that `tx` handed in by core (or the caller) can run raw SQL, on the event log's database. */
export function asExecutor(tx: unknown, owner: SqlExecutor): SqlExecutor {
  if (tx === undefined || tx === null) return owner;
  const candidate = tx as Partial<SqlExecutor>;
  if (typeof candidate.$executeRawUnsafe !== 'function' || typeof candidate.$queryRawUnsafe !== 'function') {
    throw new ConfigurationError(
      'The Prisma event log expects `tx` to be the client of prisma.$transaction(async (tx) => …) ' +
        '(or a unit of work whose transaction is one)',
    );
  }
  const txBase = baseClient(tx);
  const ownerBase = baseClient(owner);
  if (txBase !== undefined && ownerBase !== undefined && txBase !== ownerBase) {
    throw new ConfigurationError(
      '`tx` belongs to another PrismaClient than this event log: publish with a transaction of the client ' +
        'given to prismaEventLog() (with several databases, each event must go to the outbox of its own database)',
    );
  }
  return candidate as SqlExecutor;
}

/** Checks the user's client early, with a readable message instead of "x is not a function" later. */
export function assertPrismaClient(prisma: unknown, what: string): asserts prisma is PrismaClientLike {
  const candidate = prisma as Partial<PrismaClientLike> | null | undefined;
  if (
    !candidate ||
    typeof candidate.$executeRawUnsafe !== 'function' ||
    typeof candidate.$queryRawUnsafe !== 'function' ||
    typeof candidate.$transaction !== 'function'
  ) {
    throw new ConfigurationError(`${what} expects a PrismaClient (Prisma 7, with a driver adapter)`);
  }
}
