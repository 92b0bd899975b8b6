import { StaleFencingTokenError } from './errors.js';
import type { EventLogConfig } from './event-log.js';
import type { HandlerRunner } from './handler-runner.js';
import type { HeraldOptions } from './options.js';
import type { InboxRecord } from './ports/inbox-store.js';
import type { Logger } from './ports/logger.js';
import type { Fence } from './ports/outbox-store.js';
import { ClaimLoop } from './runtime/claim-loop.js';
import { KeyedQueue } from './runtime/keyed-queue.js';
import type { LeaseKeeper } from './runtime/lease-keeper.js';

/**
 * The persistent level of the inbox's two-level retry: claims failed (or
 * waiting) entries when they are due and runs them again, keeping per-key
 * order, until they succeed or are dead-lettered.
 */
export class InboxRetryProcessor {
  readonly #config: EventLogConfig;
  readonly #runner: HandlerRunner;
  readonly #options: Readonly<HeraldOptions>;
  readonly #owner: string;
  readonly #handlers: readonly string[];
  readonly #loop: ClaimLoop;
  readonly #lease: LeaseKeeper | undefined;
  readonly #logger: Logger | undefined;

  constructor(deps: {
    config: EventLogConfig;
    runner: HandlerRunner;
    options: Readonly<HeraldOptions>;
    owner: string;
    lease?: LeaseKeeper;
    /** Where a lost lock is reported (a store refused the lease's fencing token). */
    logger?: Logger;
    /** Names of the handlers whose entries this processor retries. */
    handlers: readonly string[];
  }) {
    this.#config = deps.config;
    this.#runner = deps.runner;
    this.#options = deps.options;
    this.#owner = deps.owner;
    this.#handlers = deps.handlers;
    this.#lease = deps.lease;
    this.#logger = deps.logger;
    const outage = () => this.#runner.outageOf(this.#config);
    this.#loop = new ClaimLoop({
      pollingInterval: deps.options.pollingInterval,
      ...(deps.lease ? { lease: deps.lease } : {}),
      pass: () => this.#pass(),
      // The store's trouble is logged once per outage, shared with the deliveries of this inbox.
      onError: (error) => outage().failed(error),
      onSuccess: () => outage().succeeded(),
    });
  }

  start(): void {
    this.#loop.start();
  }

  wake(): void {
    this.#loop.wake();
  }

  /** Wakes when the earliest scheduled retry is due. */
  wakeAt(at: Date): void {
    this.#loop.wakeAt(at);
  }

  get idle(): boolean {
    return this.#loop.idle;
  }

  /** Passes so far that found work (see `ClaimLoop.workedPasses`). */
  get workedPasses(): number {
    return this.#loop.workedPasses;
  }

  whenIdle(): Promise<void> {
    return this.#loop.whenIdle();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /**
   * Claims due entries and runs them, per key in order; returns how many it
   * claimed. Under a lock the claim carries its fencing token, so a processor
   * paused past its TTL is refused once a newer holder claimed
   * (`StaleFencingTokenError`): it lets go of the lock and claims nothing.
   */
  async #pass(): Promise<number> {
    const fence = this.#fence();
    let records: InboxRecord[];
    try {
      records = await this.#config.inbox!.claimDue({
        handlers: this.#handlers,
        limit: this.#options.retryBatchSize,
        leaseMs: this.#options.minimumRetryInterval,
        owner: this.#owner,
        now: new Date(),
        ...(fence ? { fence } : {}),
      });
    } catch (error) {
      if (!(error instanceof StaleFencingTokenError)) throw error;
      await this.#abandon(error);
      return 0;
    }
    const queue = new KeyedQueue(this.#options.concurrency);
    // A handling refused for a newer token rolled back; the rest of the batch is the new holder's.
    let stale: StaleFencingTokenError | undefined;
    await Promise.all(
      records.map((record) =>
        queue.run(
          record.orderingKey === null ? undefined : `${record.handler}\u0000${record.orderingKey}`,
          async () => {
            if (stale) return;
            await this.#runner.handleStored(this.#config, record, fence).catch((error: unknown) => {
              if (!(error instanceof StaleFencingTokenError)) throw error;
              stale = error;
            });
          },
        ),
      ),
    );
    if (stale) await this.#abandon(stale);
    return records.length;
  }

  /** The fence of the lock this processor claims under (none without a lock). */
  #fence(): Fence | undefined {
    const lease = this.#lease?.lease;
    return lease ? { lock: lease.key, token: lease.fencingToken } : undefined;
  }

  /** A store refused this processor's token: a newer holder owns the retries; let go of the lock. */
  async #abandon(error: StaleFencingTokenError): Promise<void> {
    // A late refusal of a token this processor no longer works under (it holds a newer lease now).
    const current = this.#fence();
    if (current && current.token > error.token) return;
    this.#logger?.warn('Inbox retry processor lost its lock; it claims nothing until it holds it again', {
      inbox: this.#config.name,
      error,
    });
    await this.#lease?.release();
  }
}
