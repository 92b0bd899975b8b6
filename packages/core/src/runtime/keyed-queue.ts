/**
 * Runs tasks with at most `concurrency` at once, and tasks sharing a key one
 * after another in submission order. Tasks without a key only obey the limit.
 */
export class KeyedQueue {
  readonly #concurrency: number;
  readonly #chains = new Map<string, Promise<void>>();
  #running = 0;
  /** FIFO of tasks waiting for a slot; `#head` avoids Array.shift()'s O(n) on long queues. */
  #waiting: Array<() => void> = [];
  #head = 0;
  #idleWaiters: Array<() => void> = [];
  #inFlight = 0;

  constructor(concurrency: number) {
    this.#concurrency = concurrency;
  }

  /** Number of submitted tasks not yet finished. */
  get size(): number {
    return this.#inFlight;
  }

  /** Submits a task; the returned promise settles with it. */
  run<T>(key: string | undefined, task: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    const previous = key === undefined ? undefined : this.#chains.get(key);
    const result = (async () => {
      if (previous) await previous;
      await this.#acquire();
      try {
        return await task();
      } finally {
        this.#release();
      }
    })();
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    if (key !== undefined) {
      this.#chains.set(key, settled);
      void settled.then(() => {
        if (this.#chains.get(key) === settled) this.#chains.delete(key);
      });
    }
    void settled.then(() => {
      this.#inFlight--;
      if (this.#inFlight === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const waiter of waiters) waiter();
      }
    });
    return result;
  }

  /** Resolves when every submitted task has finished. */
  onIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #acquire(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head]!;
      this.#waiting[this.#head] = undefined as unknown as () => void;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting = this.#waiting.slice(this.#head);
        this.#head = 0;
      }
      next();
    } else {
      this.#running--;
    }
  }
}
