/**
 * One timer for "wake me when the earliest scheduled retry is due": asking for
 * a later time than the one already set changes nothing, an earlier one
 * replaces it. Never keeps the process alive.
 */
export class DueTimer {
  readonly #onDue: () => void;
  #timer: NodeJS.Timeout | undefined;
  #dueAt = Number.POSITIVE_INFINITY;

  constructor(onDue: () => void) {
    this.#onDue = onDue;
  }

  /** Calls `onDue` at `at` (epoch ms) unless an earlier call is already scheduled. */
  at(at: number): void {
    if (at >= this.#dueAt) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(
      () => {
        this.#dueAt = Number.POSITIVE_INFINITY;
        this.#onDue();
      },
      Math.max(0, at - Date.now()) + 1,
    );
    this.#timer.unref?.();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#dueAt = Number.POSITIVE_INFINITY;
  }
}
