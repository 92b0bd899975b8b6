/** Due times remembered beyond the next one; past that, the latest are dropped and polling finds them. */
const MAX_PENDING = 1024;

/**
 * One timer for "wake me when the next scheduled time is due" (retries,
 * delayed publishes): it is armed for the earliest time asked for, and when
 * it fires it re-arms for the next one still ahead. Times are kept in a
 * bounded sorted list — never a timer each. Never keeps the process alive.
 */
export class DueTimer {
  readonly #onDue: () => void;
  #timer: NodeJS.Timeout | undefined;
  /** Epoch ms still ahead, ascending and unique; the first is the one the timer is armed for. */
  #times: number[] = [];

  constructor(onDue: () => void) {
    this.#onDue = onDue;
  }

  /** Calls `onDue` at `at` (epoch ms); one call serves every time that is due by then. */
  at(at: number): void {
    const index = insertionIndex(this.#times, at);
    if (this.#times[index] === at) return;
    if (index >= MAX_PENDING) return; // far behind a full list: the next poll finds it
    this.#times.splice(index, 0, at);
    if (this.#times.length > MAX_PENDING) this.#times.pop();
    if (index === 0) this.#arm();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#times = [];
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const next = this.#times[0];
    if (next === undefined) {
      this.#timer = undefined;
      return;
    }
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, next - Date.now()) + 1);
    this.#timer.unref?.();
  }

  #fire(): void {
    const now = Date.now();
    let due = 0;
    while (due < this.#times.length && this.#times[due]! <= now) due++;
    this.#times.splice(0, due);
    this.#arm();
    this.#onDue();
  }
}

/** Where `value` goes in the ascending `sorted` (binary search). */
function insertionIndex(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
