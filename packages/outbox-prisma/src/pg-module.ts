import { ConfigurationError } from '@herald/core';

/** The slice of `pg` Herald uses (kept local: `pg` is an optional peer dependency). */
export interface PgModule {
  Client: new (config: { connectionString: string; application_name?: string }) => PgClient;
  Pool: new (config: PgPoolConfig) => PgPool;
}

export interface PgQueryResult {
  rows: unknown[];
  rowCount: number | null;
  /** The command tag, e.g. `COMMIT`, or `ROLLBACK` for a COMMIT of an aborted transaction. */
  command: string;
}

/** A single connection (`LISTEN`). */
export interface PgClient {
  connect(): Promise<unknown>;
  query(sql: string): Promise<PgQueryResult>;
  end(): Promise<void>;
  on(event: 'notification', listener: (message: { channel: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(): unknown;
}

export interface PgPoolConfig {
  connectionString: string;
  application_name?: string;
  max?: number;
  connectionTimeoutMillis?: number;
  idleTimeoutMillis?: number;
  allowExitOnIdle?: boolean;
}

/** A connection checked out of a pool; `release(error)` destroys it instead of reusing it. */
export interface PgPoolClient {
  query(sql: string, values?: readonly unknown[]): Promise<PgQueryResult>;
  release(destroy?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

export interface PgPool {
  connect(): Promise<PgPoolClient>;
  query(sql: string, values?: readonly unknown[]): Promise<PgQueryResult>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Imports `pg`, or says which option needs it. */
export async function loadPg(option: string): Promise<PgModule> {
  const specifier = 'pg';
  try {
    const module = (await import(specifier)) as { default?: PgModule } & PgModule;
    return module.default ?? module;
  } catch (error) {
    throw new ConfigurationError(
      `${option} needs the "pg" package (npm install pg): ${(error as Error).message}`,
    );
  }
}
