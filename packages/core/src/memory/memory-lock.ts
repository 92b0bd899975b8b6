import type { DistributedLock, LockLease } from '../ports/lock.js';

interface Holder {
  id: number;
  expiresAt: number;
}

/**
 * DistributedLock for one process (tests, monoliths): exclusive per key until
 * released or expired, with a fencing token that increases per acquisition.
 */
export class MemoryLock implements DistributedLock {
  readonly name = 'memory';
  readonly #holders = new Map<string, Holder>();
  readonly #tokens = new Map<string, bigint>();
  #ids = 0;

  async acquire(key: string, ttlMs: number): Promise<LockLease | null> {
    const now = Date.now();
    const current = this.#holders.get(key);
    if (current && current.expiresAt > now) return null;
    const holder: Holder = { id: ++this.#ids, expiresAt: now + ttlMs };
    this.#holders.set(key, holder);
    const token = (this.#tokens.get(key) ?? 0n) + 1n;
    this.#tokens.set(key, token);
    const holders = this.#holders;
    const lease: LockLease = {
      key,
      fencingToken: token,
      get expiresAt() {
        return new Date(holder.expiresAt);
      },
      async extend(extendMs: number) {
        const held = holders.get(key);
        if (held !== holder || holder.expiresAt <= Date.now()) return false;
        holder.expiresAt = Date.now() + extendMs;
        return true;
      },
      async release() {
        if (holders.get(key) === holder) holders.delete(key);
      },
    };
    return lease;
  }
}
