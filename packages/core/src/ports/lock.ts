/** A held lock. */
export interface LockLease {
  /** The key the lease holds. */
  readonly key: string;
  /**
   * Fencing token: strictly increases each time the key is acquired, so a
   * resource can reject writes from a holder whose lease already expired.
   */
  readonly fencingToken: bigint;
  /** When the lease ends unless extended. */
  readonly expiresAt: Date;
  /** Extends the lease by `ttlMs` from now; false when it was already lost. */
  extend(ttlMs: number): Promise<boolean>;
  /** Releases the lock (idempotent). */
  release(): Promise<void>;
}

/**
 * The port a distributed lock adapter implements: mutual exclusion with a
 * time-to-live. Automatic extension lives once in core (`LeaseKeeper`).
 */
export interface DistributedLock {
  /** Engine name for logs, e.g. `redis`. */
  readonly name: string;
  /** Tries once; resolves `null` when someone else holds the key. */
  acquire(key: string, ttlMs: number): Promise<LockLease | null>;
  /** Releases the connections the adapter opened itself; call it after `bus.stop()`. Optional. */
  close?(): Promise<void>;
}
