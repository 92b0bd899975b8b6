import { describeError, TransportError } from '@herald/core';
import type { ConfirmChannel, Options } from 'amqplib';
import type { ConnectionManager, Session } from './connection.js';
import { asTransportError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** One message to send: where to, what, and its ordering key (for failure fencing). */
export interface Outgoing {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly orderingKey?: string | undefined;
}

/** The broker's verdict on one outgoing message. */
export type Confirmation = { readonly ok: true } | { readonly ok: false; readonly error: TransportError };

/** Counters for operators and tests (they show the pipeline, not timings). */
export interface PublisherMetrics {
  /** Messages written to a channel. */
  published: number;
  /** Messages the broker confirmed. */
  confirmed: number;
  /** Messages the broker refused, or whose confirm was lost with the channel. */
  failed: number;
  /** Times a publish had to wait because the confirm window was full. */
  windowWaits: number;
  /** Times a publish waited for the socket to drain. */
  drainWaits: number;
  /** Most messages ever awaiting a confirm at once (1 would mean one round trip per message). */
  maxInFlight: number;
}

/**
 * Publishes on one confirm channel with a window: up to `confirmWindow`
 * messages are on the wire awaiting their confirm at once, so a batch costs
 * about one round trip, not one per message. Each message's promise settles
 * with the broker's ack or nack (or a failure when the channel drops first).
 * One channel keeps messages in the order they were written.
 */
export class ConfirmPublisher {
  readonly #options: ResolvedOptions;
  readonly #connection: ConnectionManager;
  #channel: ConfirmChannel | undefined;
  #channelWaiters = new Set<() => void>();
  #slotWaiters: Array<() => void> = [];
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];
  #stopping = false;
  /** Set while the socket buffer is full; writers wait for 'drain'. */
  #drainGate: Promise<void> | undefined;
  readonly metrics: PublisherMetrics = {
    published: 0,
    confirmed: 0,
    failed: 0,
    windowWaits: 0,
    drainWaits: 0,
    maxInFlight: 0,
  };

  constructor(options: ResolvedOptions, connection: ConnectionManager) {
    this.#options = options;
    this.#connection = connection;
  }

  /** Whether a confirm channel is open. */
  get ready(): boolean {
    return this.#channel !== undefined;
  }

  /** Messages on the wire awaiting their confirm. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Session hook: opens the confirm channel on every new connection. */
  readonly attach = async (session: Session): Promise<void> => {
    let channel: ConfirmChannel;
    try {
      channel = await session.model.createConfirmChannel();
    } catch (error) {
      // A connection that cannot open a channel is not worth keeping.
      this.#connection.discard(session, error);
      throw error;
    }
    channel.on('error', (error: Error) =>
      this.#options.logger.warn('RabbitMQ publish channel error', { error }),
    );
    channel.once('close', () => {
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      // The connection may still be up (e.g. a channel-level error): open a new channel on it.
      if (!this.#stopping && this.#connection.current === session) {
        setTimeout(() => {
          if (!this.#stopping && this.#connection.current === session && !this.#channel) {
            this.attach(session).catch(() => undefined);
          }
        }, this.#options.reconnect.initialDelayMs).unref();
      }
    });
    this.#channel = channel;
    for (const wake of this.#channelWaiters) wake();
    this.#channelWaiters.clear();
  };

  /**
   * Publishes in order; resolves with one confirmation per message. Rejects
   * (nothing attempted) only when no channel comes within `publishTimeoutMs`.
   * If a message with an ordering key fails, later messages of that key in
   * the same call are not sent, so a retry cannot overtake them.
   */
  async publish(messages: readonly Outgoing[]): Promise<Confirmation[]> {
    const results: Confirmation[] = new Array(messages.length);
    if (messages.length === 0) return results;
    await this.#awaitChannel();
    const failedKeys = new Set<string>();
    const unconfirmed = new Set<number>();
    const sent: Array<Promise<void>> = [];
    let lastProgress = Date.now();
    const settle = (index: number, result: Confirmation) => {
      if (results[index] !== undefined) return;
      results[index] = result;
      unconfirmed.delete(index);
      lastProgress = Date.now();
      const key = messages[index]!.orderingKey;
      if (!result.ok && key !== undefined) failedKeys.add(key);
    };
    // Watchdog: a blocked broker never confirms; give up after publishTimeoutMs without progress.
    let abandon!: (error: TransportError) => void;
    let abandonedWith: TransportError | undefined;
    const abandoned = new Promise<void>((resolve) => {
      abandon = (error) => {
        abandonedWith = error;
        for (const index of [...unconfirmed]) settle(index, { ok: false, error });
        resolve();
      };
    });
    const watchdog = setInterval(
      () => {
        if (abandonedWith || Date.now() - lastProgress <= this.#options.publishTimeoutMs) return;
        abandon(
          new TransportError(
            `RabbitMQ made no progress confirming for ${this.#options.publishTimeoutMs} ms`,
            { retriable: true },
          ),
        );
      },
      Math.max(50, Math.min(1_000, this.#options.publishTimeoutMs / 4)),
    );
    try {
      for (let index = 0; index < messages.length; index++) {
        const message = messages[index]!;
        if (abandonedWith) {
          settle(index, { ok: false, error: abandonedWith });
          continue;
        }
        if (message.orderingKey !== undefined && failedKeys.has(message.orderingKey)) {
          settle(index, {
            ok: false,
            error: new TransportError('Not sent: an earlier message with the same ordering key failed', {
              retriable: true,
            }),
          });
          continue;
        }
        try {
          await Promise.race([this.#awaitSlot(), abandoned]);
          if (abandonedWith) {
            settle(index, { ok: false, error: abandonedWith });
            continue;
          }
          const channel = await this.#awaitChannel();
          unconfirmed.add(index);
          sent.push(this.#send(channel, message, (result) => settle(index, result)));
        } catch (error) {
          settle(index, { ok: false, error: asTransportError(error) });
        }
        lastProgress = Date.now();
      }
      await Promise.race([Promise.all(sent), abandoned]);
    } finally {
      clearInterval(watchdog);
    }
    return results;
  }

  /** Resolves when no message awaits a confirm (bounded by `publishTimeoutMs`). */
  async whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#options.publishTimeoutMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Allows publishing again after `stop()` (the transport was started again). */
  resume(): void {
    this.#stopping = false;
  }

  /** Waits for outstanding confirms, then closes the channel. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const wake of this.#channelWaiters) wake();
    await this.whenIdle();
    const channel = this.#channel;
    this.#channel = undefined;
    await channel?.close().catch(() => undefined);
  }

  #send(channel: ConfirmChannel, message: Outgoing, done: (result: Confirmation) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#inFlight++;
      this.metrics.maxInFlight = Math.max(this.metrics.maxInFlight, this.#inFlight);
      let finished = false;
      const finish = (result: Confirmation) => {
        if (finished) return;
        finished = true;
        this.#inFlight--;
        if (result.ok) this.metrics.confirmed++;
        else this.metrics.failed++;
        done(result);
        this.#releaseSlot();
        resolve();
      };
      let writable: boolean;
      try {
        writable = channel.publish(
          message.exchange,
          message.routingKey,
          message.content,
          message.options,
          (error: unknown) => {
            finish(
              error
                ? {
                    ok: false,
                    error: new TransportError(
                      `RabbitMQ did not confirm the message: ${describeError(error)}`,
                      {
                        cause: error,
                        retriable: true,
                      },
                    ),
                  }
                : { ok: true },
            );
          },
        );
        this.metrics.published++;
      } catch (error) {
        // amqplib throws a RangeError for a header table it cannot encode: retrying cannot help.
        if (error instanceof RangeError) {
          finish({
            ok: false,
            error: new TransportError(`The message cannot be encoded for RabbitMQ: ${error.message}`, {
              cause: error,
              retriable: false,
            }),
          });
        } else {
          // e.g. the channel closed between awaiting it and writing.
          finish({ ok: false, error: asTransportError(error) });
        }
        return;
      }
      if (!writable) {
        // Back-pressure: let the socket drain before writing more. Settled by the confirm, not by this.
        this.metrics.drainWaits++;
        this.#drainGate = new Promise<void>((open) => {
          const release = () => {
            channel.off('drain', release);
            channel.off('close', release);
            open();
          };
          channel.on('drain', release);
          channel.on('close', release);
        });
      }
    });
  }

  async #awaitSlot(): Promise<void> {
    const gate = this.#drainGate;
    if (gate) {
      await gate;
      if (this.#drainGate === gate) this.#drainGate = undefined;
    }
    if (this.#inFlight < this.#options.confirmWindow) return;
    this.metrics.windowWaits++;
    while (this.#inFlight >= this.#options.confirmWindow) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
  }

  #releaseSlot(): void {
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const wake of waiters) wake();
    if (this.#inFlight === 0) {
      const idle = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of idle) wake();
    }
  }

  /** The open confirm channel, waiting up to `publishTimeoutMs` for a reconnect. */
  async #awaitChannel(): Promise<ConfirmChannel> {
    if (this.#channel) return this.#channel;
    if (this.#stopping || this.#connection.stopped)
      throw new TransportError('The RabbitMQ transport is stopped', { retriable: false });
    const deadline = Date.now() + this.#options.publishTimeoutMs;
    while (!this.#channel) {
      const remaining = deadline - Date.now();
      if (this.#stopping) throw new TransportError('The RabbitMQ transport is stopped', { retriable: false });
      if (remaining <= 0) {
        const cause = this.#connection.lastError;
        throw new TransportError(
          `RabbitMQ was not reachable within ${this.#options.publishTimeoutMs} ms${cause ? `: ${describeError(cause)}` : ''}`,
          { cause, retriable: true },
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#channelWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, remaining);
        this.#channelWaiters.add(wake);
      });
    }
    return this.#channel;
  }
}
