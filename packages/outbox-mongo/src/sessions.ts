import { ConfigurationError } from '@herald/core';
import type { ClientSession, MongoClient } from 'mongodb';

/** How the stores treat transactions (see `MongoEventLogOptions.transactions`). */
export type TransactionMode = 'required' | 'off';

function isClientSession(value: unknown): value is ClientSession {
  const candidate = value as Partial<ClientSession> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.inTransaction === 'function' &&
    typeof candidate.withTransaction === 'function' &&
    typeof candidate.endSession === 'function'
  );
}

/**
 * The session to write with for a `tx` handed to a store: a `ClientSession`
 * with an active transaction (from `session.withTransaction`), or nothing.
 * Anything else is a configuration mistake that would silently break
 * atomicity, so it throws.
 */
export function sessionOf(tx: unknown, mode: TransactionMode): ClientSession | undefined {
  if (tx === undefined || tx === null) return undefined;
  if (mode === 'off') {
    throw new ConfigurationError(
      "This MongoDB event log was created with transactions: 'off', so it cannot write in a caller's " +
        "transaction; remove { tx } or use transactions: 'required' on a replica set",
    );
  }
  if (!isClientSession(tx)) {
    throw new ConfigurationError(
      'The MongoDB event log expects `tx` to be the ClientSession of your transaction ' +
        '(client.startSession() + session.withTransaction(…))',
    );
  }
  if (!tx.inTransaction()) {
    throw new ConfigurationError(
      'The ClientSession passed as `tx` has no active transaction; write inside session.withTransaction(…) ' +
        'so the events commit with your data',
    );
  }
  return tx;
}

/**
 * Runs `work` in a new transaction: `startSession` + `withTransaction`, which
 * commits when `work` resolves, aborts (and re-throws) when it rejects, and
 * retries `work` on MongoDB's transient transaction errors.
 */
export async function runInTransaction<T>(
  client: MongoClient,
  work: (session: ClientSession) => Promise<T>,
): Promise<T> {
  const session = client.startSession();
  try {
    return await session.withTransaction(() => work(session));
  } finally {
    await session.endSession();
  }
}
