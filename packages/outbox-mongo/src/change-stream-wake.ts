import type { Logger } from '@herald/core';
import type { ChangeStream, Collection, Document } from 'mongodb';

/**
 * How the outbox learns about records committed by other processes:
 * `change-stream` while a change stream is open, `polling` when the server
 * has none (FerretDB, standalone) or `changeStreams: 'off'`, `starting`
 * until the server has answered, `idle` while nobody listens.
 */
export type WakeState = 'idle' | 'starting' | 'change-stream' | 'polling';

/**
 * Error codes meaning "this server has no change streams": NotImplemented
 * (FerretDB 1.x: `$changeStream` is not implemented), CommandNotSupported,
 * and 40573 (a standalone mongod: "only supported on replica sets").
 */
const UNSUPPORTED = new Set([238, 115, 40573]);
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * Wakes the relay on inserts into the outbox collection, seen through a
 * change stream, so a record committed by another process is relayed at
 * once instead of at the next poll. Where the server has no change streams
 * it falls back to polling quietly (one debug line): the relay polls anyway.
 */
export class ChangeStreamWake {
  readonly #collection: Collection<Document>;
  readonly #enabled: boolean;
  readonly #logger: Logger;
  readonly #listeners = new Set<() => void>();
  #stream: ChangeStream | undefined;
  #state: WakeState = 'idle';
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MIN_MS;
  #stateWaiters: Array<() => void> = [];

  constructor(collection: Collection<Document>, options: { enabled: boolean; logger: Logger }) {
    this.#collection = collection;
    this.#enabled = options.enabled;
    this.#logger = options.logger;
  }

  get state(): WakeState {
    return this.#state;
  }

  /** Resolves once the state is no longer `starting`. */
  settled(): Promise<WakeState> {
    if (this.#state !== 'starting') return Promise.resolve(this.#state);
    return new Promise((resolve) => this.#stateWaiters.push(() => resolve(this.#state)));
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#open();
    return () => {
      if (!this.#listeners.delete(listener)) return;
      if (this.#listeners.size === 0) void this.close();
    };
  }

  /** Closes the change stream (if any); listeners stay registered but are no longer called. */
  async close(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    this.#setState('idle');
    await stream?.close().catch(() => undefined);
  }

  #open(): void {
    if (!this.#enabled) {
      this.#setState('polling');
      return;
    }
    this.#setState('starting');
    const stream = this.#collection.watch([{ $match: { operationType: 'insert' } }]);
    this.#stream = stream;
    void this.#follow(stream);
  }

  /** Iterates the stream until it is closed; each insert wakes every listener. */
  async #follow(stream: ChangeStream): Promise<void> {
    try {
      // The first tryNext() runs the initial aggregate: a server without change streams refuses it here.
      const first = await stream.tryNext();
      if (this.#stream !== stream) return;
      this.#retryMs = RETRY_MIN_MS;
      this.#setState('change-stream');
      this.#logger.debug('Outbox wake-ups through a change stream', {
        collection: this.#collection.collectionName,
      });
      if (first) this.#wake();
      while (this.#stream === stream) {
        await stream.next(); // waits for the next insert; rejects once the stream is closed
        if (this.#stream === stream) this.#wake();
      }
    } catch (error) {
      if (this.#stream !== stream) return; // closed on purpose
      this.#stream = undefined;
      await stream.close().catch(() => undefined);
      this.#failed(error);
    }
  }

  #wake(): void {
    for (const listener of this.#listeners) listener();
  }

  #failed(error: unknown): void {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'number' && UNSUPPORTED.has(code)) {
      this.#logger.debug('The server has no change streams; the outbox relay polls', {
        collection: this.#collection.collectionName,
        error,
      });
      this.#setState('polling');
      return;
    }
    // Anything else (network trouble beyond the driver's own resume): poll, and try again later.
    this.#logger.warn('Outbox change stream failed; polling until it can be reopened', {
      collection: this.#collection.collectionName,
      retryInMs: this.#retryMs,
      error,
    });
    this.#setState('polling');
    if (this.#listeners.size === 0) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#listeners.size > 0 && !this.#stream) this.#open();
    }, this.#retryMs);
    this.#retryTimer.unref?.();
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  #setState(state: WakeState): void {
    this.#state = state;
    if (state === 'starting') return;
    const waiters = this.#stateWaiters;
    this.#stateWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
