import { assertFenceCurrent } from '../errors.js';
import type { Fence } from '../ports/outbox-store.js';

/** The memory stores' fencing: the newest token seen per lock key. */
export class MemoryFences {
  readonly #newest = new Map<string, bigint>();

  /** Refuses a token older than the newest seen for its lock (`StaleFencingTokenError`); remembers a newer one. */
  enter(fence: Fence | undefined): void {
    if (!fence) return;
    const newest = this.#newest.get(fence.lock) ?? null;
    assertFenceCurrent(fence, newest);
    if (newest === null || fence.token > newest) this.#newest.set(fence.lock, fence.token);
  }

  /** Refuses a token older than the newest seen for its lock, without remembering anything. */
  check(fence: Fence | undefined): void {
    if (!fence) return;
    assertFenceCurrent(fence, this.#newest.get(fence.lock) ?? null);
  }
}
