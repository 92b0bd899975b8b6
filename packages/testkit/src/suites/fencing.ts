import { type Fence, StaleFencingTokenError } from '@herald/core';
import { expect } from 'vitest';

/**
 * Tokens above 2^53: a store that keeps them as JavaScript numbers or
 * doubles cannot tell neighbours apart and fails the fencing cases.
 */
const TOKEN_BASE = 2n ** 62n;

/** The fence of `lock` with the `offset`-th token above {@link TOKEN_BASE}. */
export function fence(lock: string, offset: number): Fence {
  return { lock, token: TOKEN_BASE + BigInt(offset) };
}

/** Asserts `call` rejects with the typed stale-token error. */
export async function expectStale(call: Promise<unknown>, what: string): Promise<void> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, `${what} is refused`).toBeInstanceOf(StaleFencingTokenError);
  expect((error as StaleFencingTokenError).code).toBe('HERALD_STALE_FENCING_TOKEN');
}
