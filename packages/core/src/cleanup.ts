import type { EventLogConfig } from './event-log.js';
import type { Monitor } from './monitoring.js';
import type { HeraldOptions } from './options.js';
import type { InboxStore } from './ports/inbox-store.js';
import type { OutboxStore } from './ports/outbox-store.js';
import { sleep } from './runtime/timers.js';

/**
 * Deletes published outbox records older than `publishedExpireTime` and
 * processed inbox entries older than `processedInboxExpireTime` (default: the
 * same), `deleteBatchCount` at a time, every
 * `cleaningExpireInterval`. Dead and failed records are kept for operators.
 */
export class CleanupProcessor {
  readonly #configs: readonly EventLogConfig[];
  readonly #options: Readonly<HeraldOptions>;
  readonly #monitor: Monitor;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(deps: {
    configs: readonly EventLogConfig[];
    options: Readonly<HeraldOptions>;
    monitor: Monitor;
  }) {
    this.#configs = deps.configs;
    this.#options = deps.options;
    this.#monitor = deps.monitor;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** One cleanup pass over every store; returns how many records were deleted. */
  async runOnce(now: Date = new Date()): Promise<number> {
    const { publishedExpireTime, processedInboxExpireTime } = this.#options;
    const outboxBefore = new Date(now.getTime() - publishedExpireTime);
    const inboxBefore = new Date(now.getTime() - (processedInboxExpireTime ?? publishedExpireTime));
    let total = 0;
    for (const config of this.#configs) {
      const stores: Array<[OutboxStore | InboxStore | undefined, Date]> = [
        [config.outbox, outboxBefore],
        [config.inbox, inboxBefore],
      ];
      for (const [store, before] of stores) {
        if (!store) continue;
        try {
          for (;;) {
            const deleted = await store.deleteExpired(before, this.#options.deleteBatchCount);
            total += deleted;
            if (deleted < this.#options.deleteBatchCount || this.#stop.signal.aborted) break;
          }
        } catch (error) {
          this.#monitor.emit('error', { where: `cleanup of ${store.name}`, error });
        }
      }
    }
    return total;
  }

  async #run(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await sleep(this.#options.cleaningExpireInterval, this.#stop.signal);
      if (!this.#stop.signal.aborted) await this.runOnce();
    }
  }
}
