import type { DistributedLock, LockLease } from '../ports/lock.js';
import type { Logger } from '../ports/logger.js';
import { sleep, withTimeout } from './timers.js';

/**
 * Holds a distributed lock for a background processor: acquires it (waiting
 * `waitMs` between tries), extends it every third of its TTL, and reports
 * loss at once through `signal` so the holder stops claiming.
 */
export class LeaseKeeper {
  readonly #lock: DistributedLock;
  readonly #key: string;
  readonly #ttlMs: number;
  readonly #waitMs: number;
  readonly #logger: Logger;
  #lease: LockLease | undefined;
  #lost = new AbortController();
  #renewTimer: NodeJS.Timeout | undefined;
  #heldSince = 0;

  constructor(options: {
    lock: DistributedLock;
    key: string;
    ttlMs: number;
    waitMs: number;
    logger: Logger;
  }) {
    this.#lock = options.lock;
    this.#key = options.key;
    this.#ttlMs = options.ttlMs;
    this.#waitMs = options.waitMs;
    this.#logger = options.logger;
  }

  /** The held lease, if any. */
  get lease(): LockLease | undefined {
    return this.#lease;
  }

  /** When the current lease was acquired (epoch ms; 0 when not held). */
  get heldSince(): number {
    return this.#lease ? this.#heldSince : 0;
  }

  /** Aborted when the current lease is lost; replaced on the next acquisition. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Resolves true once the lock is held, false if `stop` aborted first. */
  async hold(stop: AbortSignal): Promise<boolean> {
    if (this.#lease && !this.#lost.signal.aborted) return true;
    while (!stop.aborted) {
      try {
        const lease = await this.#lock.acquire(this.#key, this.#ttlMs);
        if (lease) {
          this.#lease = lease;
          this.#heldSince = Date.now();
          this.#lost = new AbortController();
          this.#scheduleRenewal();
          this.#logger.debug('Lock acquired', { key: this.#key, fencingToken: String(lease.fencingToken) });
          return true;
        }
      } catch (error) {
        this.#logger.warn('Lock acquisition failed; will retry', { key: this.#key, error });
      }
      await sleep(this.#waitMs, stop);
    }
    return false;
  }

  /** Releases the lock, if held. */
  async release(): Promise<void> {
    clearTimeout(this.#renewTimer);
    const lease = this.#lease;
    this.#lease = undefined;
    this.#lost.abort();
    if (lease) await lease.release().catch((error) => this.#logger.warn('Lock release failed', { error }));
  }

  #scheduleRenewal(): void {
    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(() => void this.#renew(), Math.max(10, Math.floor(this.#ttlMs / 3)));
    this.#renewTimer.unref?.();
  }

  /**
   * Extends the lease, retrying a failed or unanswered extension while the
   * lease is still valid (a short broker hiccup must not drop leadership). An
   * extension still unanswered when the lease ends counts as lost. On loss the
   * lease is released (so this replica can take it again at once) and the
   * holder is told through `signal`.
   */
  async #renew(): Promise<void> {
    const lease = this.#lease;
    if (!lease) return;
    const retryEvery = Math.max(10, Math.floor(this.#ttlMs / 10));
    for (;;) {
      const remaining = lease.expiresAt.getTime() - Date.now();
      if (remaining <= 0) break;
      let extended: boolean | undefined;
      try {
        extended = await withTimeout(
          lease.extend(this.#ttlMs),
          remaining,
          () => new Error('Lock extension timed out'),
        );
      } catch (error) {
        this.#logger.warn('Lock extension failed; retrying while the lease lasts', { key: this.#key, error });
      }
      if (lease !== this.#lease) return;
      if (extended === true) return this.#scheduleRenewal();
      if (extended === false) break; // the lock answered: someone else holds it now
      if (lease.expiresAt.getTime() - Date.now() <= retryEvery) break;
      await sleep(retryEvery);
      if (lease !== this.#lease) return;
    }
    this.#logger.warn('Lock lost; stopping work until it is acquired again', { key: this.#key });
    this.#lease = undefined;
    this.#lost.abort();
    await lease.release().catch(() => undefined);
  }
}
