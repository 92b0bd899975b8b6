import type { Consumer } from './consumer.js';
import type { EventLogConfig } from './event-log.js';
import type { HeraldOptions } from './options.js';
import { DueTimer } from './runtime/due-timer.js';
import { KeyedQueue } from './runtime/keyed-queue.js';
import type { LeaseKeeper } from './runtime/lease-keeper.js';
import { sleep } from './runtime/timers.js';
import { WakeSignal } from './runtime/wake-signal.js';

/**
 * The persistent level of the inbox's two-level retry: claims failed (or
 * waiting) entries when they are due and runs them again, keeping per-key
 * order, until they succeed or are dead-lettered.
 */
export class InboxRetryProcessor {
  readonly #config: EventLogConfig;
  readonly #consumer: Consumer;
  readonly #options: Readonly<HeraldOptions>;
  readonly #owner: string;
  readonly #lease: LeaseKeeper | undefined;
  readonly #handlers: readonly string[];
  readonly #wake = new WakeSignal();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  readonly #due = new DueTimer(() => this.wake());
  #busy = false;
  #emptyClaims = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(deps: {
    config: EventLogConfig;
    consumer: Consumer;
    options: Readonly<HeraldOptions>;
    owner: string;
    lease?: LeaseKeeper;
    /** Names of the handlers whose entries this processor retries. */
    handlers: readonly string[];
  }) {
    this.#config = deps.config;
    this.#consumer = deps.consumer;
    this.#options = deps.options;
    this.#owner = deps.owner;
    this.#lease = deps.lease;
    this.#handlers = deps.handlers;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  wake(): void {
    this.#emptyClaims = 0;
    this.#wake.notify();
  }

  /** Wakes when the earliest scheduled retry is due. */
  wakeAt(at: Date): void {
    const time = at.getTime();
    if (time <= Date.now()) {
      this.wake();
      return;
    }
    this.#due.at(time);
  }

  get idle(): boolean {
    return !this.#busy && this.#emptyClaims > 0;
  }

  whenIdle(): Promise<void> {
    // A claim already running looks anyway; waking it again would make it claim once more
    // right after reporting idle, and drain() would never see a quiet moment.
    if (!this.#busy) this.wake();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#due.cancel();
    await this.#loop;
    await this.#lease?.release();
    this.#resolveIdle();
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    const inbox = this.#config.inbox!;
    let failures = 0;
    while (!stop.aborted) {
      try {
        if (this.#lease && !this.#lease.lease) {
          // Another replica holds the lock: nothing is ours to do until we get it.
          this.#emptyClaims = Math.max(this.#emptyClaims, 1);
          this.#resolveIdle();
          if (!(await this.#lease.hold(stop))) break;
        }
        this.#busy = true;
        const records = await inbox.claimDue({
          handlers: this.#handlers,
          limit: this.#options.retryBatchSize,
          leaseMs: this.#options.minimumRetryInterval,
          owner: this.#owner,
          now: new Date(),
        });
        this.#consumer.outageOf(this.#config).succeeded();
        if (records.length > 0) {
          this.#emptyClaims = 0;
          const queue = new KeyedQueue(this.#options.concurrency);
          await Promise.all(
            records.map((record) =>
              queue.run(
                record.orderingKey === null ? undefined : `${record.handler}\u0000${record.orderingKey}`,
                () => this.#consumer.handleStored(this.#config, record),
              ),
            ),
          );
          this.#busy = false;
          failures = 0;
          continue;
        }
        this.#busy = false;
        this.#emptyClaims++;
        failures = 0;
        this.#resolveIdle();
        const signals = this.#lease ? AbortSignal.any([stop, this.#lease.signal]) : stop;
        await this.#wake.wait(this.#options.pollingInterval, signals);
      } catch (error) {
        this.#busy = false;
        failures++;
        // The store's trouble is logged once per outage, shared with the deliveries of this inbox.
        this.#consumer.outageOf(this.#config).failed(error);
        await sleep(Math.min(this.#options.pollingInterval * 2 ** (failures - 1), 30_000), stop);
      }
    }
  }

  #resolveIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
