/**
 * Faults the harness (or the chaos wrappers on their own) inject. Each one
 * reproduces something that really happens in production, so a test that
 * passes with chaos on does not depend on luck.
 */
export interface ChaosOptions {
  /**
   * Every acknowledged delivery is delivered once more, right after it was
   * handled (a lost broker acknowledgement). The inbox must absorb the copy.
   */
  duplicateDeliveries?: boolean;
  /**
   * Messages of *different* ordering keys in one published batch are shuffled;
   * messages of the same key keep their order. Catches handlers that assume a
   * global order Herald never promised.
   */
  reorderKeys?: boolean;
  /**
   * `markPublished` fails once for some records after they were sent (a relay
   * crash between send and mark): they are sent again when their lease
   * (`minimumRetryInterval`) expires.
   */
  crashBetweenPublishAndMark?: boolean;
  /**
   * The inbox's `complete` fails once per handling, after the handler ran and
   * before its transaction commits: the transaction rolls back and the message
   * is delivered again, so the handler runs twice. Side effects written
   * through `ctx.tx` roll back; anything else happens twice.
   */
  crashAfterHandler?: boolean;
  /** Seed of every random choice (default 1): the same seed gives the same faults for the same messages. */
  seed?: number;
  /** Share of records hit by `crashBetweenPublishAndMark`, 0…1 (default 0.5). */
  crashRate?: number;
}

/** Thrown by chaos wrappers; filter it out of `harness.errors` when asserting on real errors. */
export class ChaosError extends Error {
  constructor(message: string) {
    super(`chaos: ${message}`);
    this.name = 'ChaosError';
  }
}

/** True when `options` asks for a fault the transport wrapper injects. */
export function wantsTransportChaos(options: ChaosOptions | undefined): boolean {
  return Boolean(options?.duplicateDeliveries || options?.reorderKeys);
}
