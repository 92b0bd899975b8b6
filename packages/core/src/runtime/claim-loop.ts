import { DueTimer } from './due-timer.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { sleep } from './timers.js';
import { WakeSignal } from './wake-signal.js';

/** What a claim loop runs and how it reacts. */
export interface ClaimLoopDeps {
  /** Fallback poll when no wake-up arrives. */
  readonly pollingInterval: number;
  /** The distributed lock this loop must hold to work (none: always works). */
  readonly lease?: LeaseKeeper;
  /**
   * One pass: claims what is due and works on it; resolves with how many
   * records it claimed (0: found nothing). Throws on store trouble.
   */
  readonly pass: () => Promise<number>;
  /** Runs before each attempt to take the lock (e.g. a sharded relay waits its turn). */
  readonly beforeHold?: (stop: AbortSignal) => Promise<void>;
  /** Runs on stop after the last pass, before the lock is released (hand back what is held). */
  readonly beforeRelease?: () => Promise<void>;
  /** Runs before each pass while the lock is held; true skips the pass (e.g. a shard handed back). */
  readonly beforePass?: (stop: AbortSignal) => Promise<boolean>;
  /**
   * After a pass that claimed: true (the default) passes again at once; false
   * waits for a wake-up or the poll (e.g. a partial batch took everything
   * claimable, and what comes next announces itself with a wake-up).
   */
  readonly passAgain?: () => boolean;
  /** Work the loop still owes outside passes (e.g. local retries); idle waits for it too. */
  readonly pendingWork?: () => boolean;
  /** A pass threw; `failures` counts consecutive ones. The loop then backs off. */
  readonly onError: (error: unknown, failures: number) => void;
  /** A pass finished without throwing (ends any store trouble the loop reported). */
  readonly onSuccess?: () => void;
}

/** Longest pause between passes after consecutive failures. */
const MAX_BACKOFF_MS = 30_000;

/**
 * The one state machine under the outbox relay and the inbox retry processor:
 * hold the lease (if any), claim and work while there is work, sleep until a
 * wake-up or the polling interval otherwise, back off on errors, and stop.
 *
 * `whenIdle()` resolves after a pass that started after the call found
 * nothing (and no other work is owed): a pass running at the moment of the
 * call does not count, so a record committed just before the call is seen.
 * `workedPasses` counts passes that found work, so a caller can tell whether
 * anything happened between two observations without racing the loop.
 */
export class ClaimLoop {
  readonly #deps: ClaimLoopDeps;
  readonly #wake = new WakeSignal();
  readonly #stop = new AbortController();
  readonly #due = new DueTimer(() => this.wake());
  #loop: Promise<void> | undefined;
  /** Sequence number of the pass running now, or of the last one. */
  #passSeq = 0;
  #running = false;
  #lastPassEmpty = false;
  #worked = 0;
  #waiters: Array<{ afterSeq: number; resolve: () => void }> = [];

  constructor(deps: ClaimLoopDeps) {
    this.#deps = deps;
  }

  /** Aborted when the loop stops. */
  get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  /** True between passes when the last one found nothing and no other work is owed. */
  get idle(): boolean {
    return !this.#running && this.#lastPassEmpty && !(this.#deps.pendingWork?.() ?? false);
  }

  /** Passes so far that found work. */
  get workedPasses(): number {
    return this.#worked;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Something became due: pass now (or right after the running pass). */
  wake(): void {
    this.#wake.notify();
  }

  /** Passes at `at` (one timer for all such times: see {@link DueTimer}). */
  wakeAt(at: Date): void {
    const time = at.getTime();
    if (time <= Date.now()) this.wake();
    else this.#due.at(time);
  }

  /** Resolves after a pass that started after this call found nothing to do. */
  whenIdle(): Promise<void> {
    const afterSeq = this.#passSeq + 1;
    // The running pass does not count; the next one runs right after it.
    this.wake();
    return new Promise((resolve) => this.#waiters.push({ afterSeq, resolve }));
  }

  /** Owed work (outside passes) finished: waiters of an empty pass may go now. */
  settled(): void {
    if (!this.#running && this.#lastPassEmpty) this.#resolveIdle(this.#passSeq);
  }

  /** Stops passing, waits for the running pass and releases the lease; resolves idle waiters. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#due.cancel();
    await this.#loop;
    await this.#deps.beforeRelease?.();
    await this.#deps.lease?.release();
    this.#resolveIdle(Number.POSITIVE_INFINITY);
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    const { lease } = this.#deps;
    let failures = 0;
    while (!stop.aborted) {
      try {
        if (lease && !lease.lease) {
          // Another replica holds the lock: nothing is ours to do until we get it.
          this.#lastPassEmpty = true;
          this.#resolveIdle(Number.POSITIVE_INFINITY);
          await this.#deps.beforeHold?.(stop);
          if (!(await lease.hold(stop))) break;
        }
        if (await this.#deps.beforePass?.(stop)) continue;
        this.#running = true;
        const seq = ++this.#passSeq;
        const claimed = await this.#deps.pass();
        this.#running = false;
        failures = 0;
        this.#deps.onSuccess?.();
        this.#lastPassEmpty = claimed === 0;
        if (claimed > 0) {
          this.#worked++;
          if (this.#deps.passAgain?.() !== false) continue;
        } else {
          this.#resolveIdle(seq);
        }
        const wakeSignals = lease ? AbortSignal.any([stop, lease.signal]) : stop;
        await this.#wake.wait(this.#deps.pollingInterval, wakeSignals);
      } catch (error) {
        this.#running = false;
        failures++;
        this.#deps.onError(error, failures);
        await sleep(Math.min(this.#deps.pollingInterval * 2 ** (failures - 1), MAX_BACKOFF_MS), stop);
      }
    }
  }

  /** Resolves the waiters satisfied by an empty pass numbered `seq`. */
  #resolveIdle(seq: number): void {
    if (this.#deps.pendingWork?.() && seq !== Number.POSITIVE_INFINITY) return;
    const ready = this.#waiters.filter((waiter) => waiter.afterSeq <= seq);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => waiter.afterSeq > seq);
    for (const waiter of ready) waiter.resolve();
  }
}
