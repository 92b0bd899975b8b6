import { describeError } from '../errors.js';
import type { Monitor } from '../monitoring.js';
import type { Logger } from '../ports/logger.js';
import { sleep } from '../runtime/timers.js';

/** First pause after a failure; it doubles per failed probe up to {@link MAX_PAUSE_MS}. */
const FIRST_PAUSE_MS = 100;
const MAX_PAUSE_MS = 30_000;
/**
 * A failure this soon after the dependency came back is the same outage relapsing (pooled connections
 * that died with it fail one by one on first use), not a new one: it pauses callers again but
 * logs at debug level, so an outage stays one start line and one end line.
 */
export const RELAPSE_WINDOW_MS = 5_000;

/** How an outage speaks in logs and monitor events. */
export interface OutageWording {
  /** The monitor's `error.where`, e.g. `inbox "Default"`. */
  readonly where: string;
  /** Structured log context, e.g. `{ inbox: 'Default' }`. */
  readonly context: Readonly<Record<string, unknown>>;
  /** Logged (error) when an outage starts. */
  readonly started: string;
  /** Logged (debug) when it relapses right after it ended. */
  readonly relapsed: string;
  /** Logged (warn) when it ends; `{s}` becomes its length in seconds. */
  readonly ended: string;
  /** Logged (debug) when a relapse ends; `{s}` as above. */
  readonly relapseEnded: string;
}

/**
 * A dependency's outage (a store, a broker), shared by everyone who uses it.
 *
 * When the dependency fails, the fault is the dependency, not the messages:
 * callers stop hitting it and wait here instead of cycling their messages
 * through retries. One caller at a time probes it after a pause that grows
 * per failed probe; when a probe succeeds, everyone goes on. The outage is
 * logged once when it starts and once when it ends, and health reports it
 * meanwhile.
 */
export class Outage {
  readonly #logger: Logger;
  readonly #monitor: Monitor;
  readonly #wording: OutageWording;
  #since: Date | undefined;
  /** When the last outage ended, and whether the current one is its relapse. */
  #endedAt = Number.NEGATIVE_INFINITY;
  #relapse = false;
  #lastError: unknown;
  #failedProbes = 0;
  #probeAt = 0;
  #probing = false;
  #changed = signalled();

  constructor(logger: Logger, monitor: Monitor, wording: OutageWording) {
    this.#logger = logger;
    this.#monitor = monitor;
    this.#wording = wording;
  }

  /** The outage in progress, if any (for health probes). */
  get current(): { readonly since: Date; readonly reason: string } | undefined {
    return this.#since ? { since: this.#since, reason: describeError(this.#lastError) } : undefined;
  }

  /**
   * Resolves when this caller may use the dependency: at once while it is healthy;
   * during an outage, when it is this caller's turn to probe or a probe
   * succeeded. Resolves false when `signal` aborts first.
   */
  async admit(signal: AbortSignal): Promise<boolean> {
    while (this.#since !== undefined && !signal.aborted) {
      const wait = this.#probeAt - Date.now();
      if (!this.#probing && wait <= 0) {
        this.#probing = true;
        return true;
      }
      const changed = this.#changed.promise;
      await Promise.race([changed, sleep(Math.max(wait, 1), signal)]);
    }
    return !signal.aborted;
  }

  /** The dependency answered. */
  succeeded(): void {
    if (this.#since === undefined) return;
    const seconds = ((Date.now() - this.#since.getTime()) / 1000).toFixed(1);
    const context = { ...this.#wording.context, failedProbes: this.#failedProbes };
    if (this.#relapse) this.#logger.debug(this.#wording.relapseEnded.replace('{s}', seconds), context);
    else this.#logger.warn(this.#wording.ended.replace('{s}', seconds), context);
    this.#endedAt = Date.now();
    this.#since = undefined;
    this.#lastError = undefined;
    this.#failedProbes = 0;
    this.#probing = false;
    this.#notify();
  }

  /**
   * The probe that `admit` let through never reached the dependency (it
   * found no work): the next caller may probe at once.
   */
  inconclusive(): void {
    if (!this.#probing) return;
    this.#probing = false;
    this.#notify();
  }

  /**
   * The dependency failed: start the outage, or, when this was the probe, pause
   * longer before the next one. Failures of work that was already in flight
   * when the outage began (or of other callers than the probe) change nothing.
   */
  failed(error: unknown): void {
    if (this.#since === undefined) {
      this.#since = new Date();
      this.#relapse = this.#since.getTime() - this.#endedAt < RELAPSE_WINDOW_MS;
      const context = { ...this.#wording.context, error };
      if (this.#relapse) this.#logger.debug(this.#wording.relapsed, context);
      else this.#logger.error(this.#wording.started, context);
    } else if (!this.#probing) {
      return;
    }
    this.#monitor.emit('error', { where: this.#wording.where, error });
    this.#lastError = error;
    this.#failedProbes++;
    this.#probeAt = Date.now() + Math.min(FIRST_PAUSE_MS * 2 ** (this.#failedProbes - 1), MAX_PAUSE_MS);
    this.#probing = false;
    this.#notify();
  }

  #notify(): void {
    const changed = this.#changed;
    this.#changed = signalled();
    changed.resolve();
  }
}

/** A promise and the function that resolves it. */
function signalled(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
