/**
 * An async iterable fed by `push`: the request side of a bidirectional gRPC
 * stream (the initial subscription request, then one answer per event). An
 * async generator underneath, since ConnectRPC needs `throw` and `return`.
 */
export class RequestQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.wake?.();
  }

  /** Ends the request stream (half-close): the sidecar then ends the subscription. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        while (this.items.length > 0) yield this.items.shift()!;
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      this.ended = true;
    }
  }
}
