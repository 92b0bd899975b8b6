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
  /** Performs the check; rejects (usually with an assertion error) when the adapter does not conform. */
  run(context: C): Promise<void>;
}
