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

/**
 * Thrown by {@link skipCase}: the case found that (part of) what it checks
 * does not apply to the adapter. Registered cases report it as skipped with
 * the reason; a case run directly rejects with it.
 */
export class CaseSkipped extends Error {
  /** Why the case does not apply, as given to {@link skipCase} (reported by vitest as the skip reason). */
  readonly reason: string;

  constructor(reason: string) {
    super(`skipped: ${reason}`);
    this.name = 'CaseSkipped';
    this.reason = reason;
  }
}

/**
 * Ends a case as skipped with `reason`, so a capability the adapter lacks
 * shows as skipped, never as passed. Call it after the checks that do apply.
 */
export function skipCase(reason: string): never {
  throw new CaseSkipped(reason);
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

/**
 * Registers `cases` with vitest under `title`: one `it` per case, each run by
 * `run`; a case that calls {@link skipCase} is reported as skipped with its reason.
 */
export function describeCases<C>(
  title: string,
  cases: readonly ConformanceCase<C>[],
  run: (testCase: ConformanceCase<C>, skip: (reason: string) => void) => Promise<void>,
  timeoutMs = 30_000,
): void {
  describe(title, () => {
    for (const testCase of cases) {
      it(
        testCase.name,
        async (context) => {
          try {
            await run(testCase, (reason) => context.skip(reason));
          } catch (error) {
            if (error instanceof CaseSkipped) context.skip(error.reason);
            throw error;
          }
        },
        timeoutMs,
      );
    }
  });
}
