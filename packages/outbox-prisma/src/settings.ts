import { ConfigurationError } from '@herald/core';
import type { PrismaClientLike, TransactionOptions } from './prisma-client.js';
import type { Dialect, Provider } from './sql.js';

/** Default table prefix: `herald_outbox`, `herald_inbox`, `herald_migrations`. */
export const DEFAULT_TABLE_PREFIX = 'herald_';

const PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;

/** Table names derived from a prefix (validated: they are put into SQL text). */
export interface TableNames {
  readonly outbox: string;
  readonly inbox: string;
  readonly migrations: string;
  /** Newest fencing token seen per relay lock. */
  readonly fences: string;
}

export function tableNames(prefix: string = DEFAULT_TABLE_PREFIX): TableNames {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new ConfigurationError(
      `tablePrefix must be letters, digits and "_" (not starting with a digit, at most 41 characters), got ${String(prefix)}`,
    );
  }
  return {
    outbox: `${prefix}outbox`,
    inbox: `${prefix}inbox`,
    migrations: `${prefix}migrations`,
    fences: `${prefix}fences`,
  };
}

/** What both stores share: the clients, the dialect and the names. */
export interface StoreSettings {
  /** The user's client: transactions and writes. */
  readonly prisma: PrismaClientLike;
  /** Where read-only statements go (the user's client unless `readClient` was given). */
  readonly reader: PrismaClientLike;
  readonly dialect: Dialect;
  readonly provider: Provider;
  readonly databaseName: string;
  readonly names: TableNames;
  readonly transaction: Required<TransactionOptions>;
}

export const DEFAULT_TRANSACTION: Required<TransactionOptions> = { maxWait: 10_000, timeout: 60_000 };
