import { describe, it } from 'vitest';

/**
 * One conformance check, kept as plain data so it can be registered with
 * vitest by a `describe…Conformance` function, or run directly (for example
 * against a deliberately broken adapter, to prove that the check can fail).
 *
 * @typeParam C - What the check receives: a fresh fixture of the adapter under test.
 */
export interface ConformanceCase<C> {
  /** Human-readable name; becomes the vitest test name. */
  readonly name: string;
  /**
   * Performs the check; rejects (usually with an assertion error) when the
   * adapter does not conform. A case about an optional capability the adapter
   * lacks calls `skip` with the reason (vitest reports it as skipped); run
   * directly, without `skip`, such a case returns.
   */
  run(context: C, skip?: (reason: string) => void): Promise<void>;
}

/** Runs a case against a fresh fixture from `create`, always calling the fixture's `cleanup`. */
export async function runWithFixture<C extends { cleanup?: () => Promise<void> }>(
  testCase: ConformanceCase<C>,
  create: () => Promise<C>,
  skip?: (reason: string) => void,
): Promise<void> {
  const fixture = await create();
  try {
    await testCase.run(fixture, skip);
  } finally {
    await fixture.cleanup?.();
  }
}

/** Registers `cases` with vitest under `title`: one `it` per case, each run by `run`. */
export function describeCases<C>(
  title: string,
  cases: readonly ConformanceCase<C>[],
  run: (testCase: ConformanceCase<C>, skip: (reason: string) => void) => Promise<void>,
  timeoutMs = 30_000,
): void {
  describe(title, () => {
    for (const testCase of cases)
      it(testCase.name, (context) => run(testCase, (reason) => context.skip(reason)), timeoutMs);
  });
}
