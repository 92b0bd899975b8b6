/**
 * Lets a processor sleep until there is work: `notify()` wakes the current or
 * next `wait()`, and notifications that arrive while nobody waits are kept,
 * so a wake-up is never lost between two loops.
 */
export class WakeSignal {
  #pending = false;
  #waiter: (() => void) | undefined;

  notify(): void {
    this.#pending = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Resolves on the next notification, after `timeoutMs`, or when `signal` aborts. Returns true if notified. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = (notified: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.#waiter === onNotify) this.#waiter = undefined;
        if (notified) this.#pending = false;
        resolve(notified);
      };
      const onNotify = () => finish(true);
      const onAbort = () => finish(false);
      // Deliberately not unref'd: a running bus keeps its process alive, like a server.
      const timer = setTimeout(() => finish(false), timeoutMs);
      if (signal?.aborted) return finish(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiter = onNotify;
    });
  }
}
