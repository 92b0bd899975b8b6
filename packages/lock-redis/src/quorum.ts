import { DeadlineExceeded } from './errors.js';

/** What a quorum call collected: per-node values that counted, and errors. */
export interface QuorumOutcome<T> {
  /** Node index and value of every answer that `counts` accepted. */
  readonly agreed: ReadonlyArray<{ readonly index: number; readonly value: T }>;
  readonly errors: readonly unknown[];
}

/**
 * Runs one call per node and resolves as soon as `quorum` answers count,
 * as soon as a quorum has become impossible, or when `budgetMs` runs out.
 * A hung minority node therefore never slows a majority down. Answers that
 * arrive later are ignored (and their rejections swallowed).
 */
export function collectQuorum<T>(
  calls: ReadonlyArray<() => Promise<T>>,
  quorum: number,
  budgetMs: number,
  counts: (value: T) => boolean,
): Promise<QuorumOutcome<T>> {
  return new Promise((resolve) => {
    const agreed: Array<{ index: number; value: T }> = [];
    const errors: unknown[] = [];
    let refused = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ agreed: [...agreed], errors: [...errors] });
    };
    const settle = () => {
      if (agreed.length >= quorum || calls.length - errors.length - refused < quorum) finish();
    };
    const timer = setTimeout(
      () => {
        errors.push(
          new DeadlineExceeded(`${calls.length - agreed.length - refused - errors.length} node(s)`, budgetMs),
        );
        finish();
      },
      Math.max(0, budgetMs),
    );
    timer.unref?.();
    calls.forEach((call, index) => {
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          if (done) return;
          if (counts(value)) agreed.push({ index, value });
          else refused++;
          settle();
        },
        (error: unknown) => {
          if (done) return;
          errors.push(error);
          settle();
        },
      );
    });
  });
}
