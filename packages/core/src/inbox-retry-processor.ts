import type { EventLogConfig } from './event-log.js';
import type { HandlerRunner } from './handler-runner.js';
import type { HeraldOptions } from './options.js';
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

  constructor(deps: {
    config: EventLogConfig;
    runner: HandlerRunner;
    options: Readonly<HeraldOptions>;
    owner: string;
    lease?: LeaseKeeper;
    /** Names of the handlers whose entries this processor retries. */
    handlers: readonly string[];
  }) {
    this.#config = deps.config;
    this.#runner = deps.runner;
    this.#options = deps.options;
    this.#owner = deps.owner;
    this.#handlers = deps.handlers;
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

  /** Claims due entries and runs them, per key in order; returns how many it claimed. */
  async #pass(): Promise<number> {
    const records = await this.#config.inbox!.claimDue({
      handlers: this.#handlers,
      limit: this.#options.retryBatchSize,
      leaseMs: this.#options.minimumRetryInterval,
      owner: this.#owner,
      now: new Date(),
    });
    const queue = new KeyedQueue(this.#options.concurrency);
    await Promise.all(
      records.map((record) =>
        queue.run(
          record.orderingKey === null ? undefined : `${record.handler}\u0000${record.orderingKey}`,
          () => this.#runner.handleStored(this.#config, record),
        ),
      ),
    );
    return records.length;
  }
}
