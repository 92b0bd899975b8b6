import type { MemoryDatabase, MemoryTransaction } from '@herald/core';

/**
 * Every handler records its effect in its own database, in the same
 * transaction as its business write. The demo's ledger reads these rows to
 * prove "handled exactly once in effect" instead of trusting counters.
 */
export function recordEffect(tx: unknown, messageId: string): void {
  const transaction = tx as MemoryTransaction;
  const count = transaction.get<number>('effects', messageId) ?? 0;
  transaction.put('effects', messageId, count + 1);
}

/** Effects per message id committed in a service's database. */
export function effectsOf(database: MemoryDatabase): Map<string, number> {
  const effects = new Map<string, number>();
  for (const key of database.keys('effects')) effects.set(key, database.get<number>('effects', key) ?? 0);
  return effects;
}
