import { describeError, redactError, TransportError } from '@herald/core';
import { type ChannelModel, connect } from 'amqplib';
import { stoppedError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** One live AMQP connection; a new session follows every reconnect. */
export interface Session {
  readonly model: ChannelModel;
  /** 1 for the first connection, +1 per reconnect. */
  readonly generation: number;
}

/** Something that must be (re)built on every new connection: the publisher, each consumer. */
export type SessionHook = (session: Session) => Promise<void>;

interface Waiter {
  resolve(session: Session): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Owns the AMQP connection: connects, notices drops, reconnects with capped
 * exponential backoff (with jitter, so many services do not reconnect in step)
 * and runs the registered hooks on every new session, which re-declare
 * topology, reopen channels and resume consumers.
 */
export class ConnectionManager {
  readonly #options: ResolvedOptions;
  readonly #hooks: SessionHook[] = [];
  #session: Session | undefined;
  #generation = 0;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #opening: Promise<Session> | undefined;
  #waiters = new Set<Waiter>();
  #lastError: unknown;
  #stopped = false;
  #reconnects = 0;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  /** The live session, if connected right now. */
  get current(): Session | undefined {
    return this.#session;
  }

  /** Successful reconnects since start (not counting the first connection). */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Why the last connection attempt failed or the last connection dropped. */
  get lastError(): unknown {
    return this.#lastError;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs `hook` on every new session, in registration order. Returns the unregister function. */
  onSession(hook: SessionHook): () => void {
    this.#hooks.push(hook);
    return () => {
      const index = this.#hooks.indexOf(hook);
      if (index >= 0) this.#hooks.splice(index, 1);
    };
  }

  /** Connects, retrying with backoff for up to `connectTimeoutMs`; then keeps the connection up. */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#scheduleReconnect(0);
    await this.whenOpen(this.#options.connectTimeoutMs);
  }

  /**
   * Resolves with the live session, waiting up to `timeoutMs` during an
   * outage; rejects with a retriable `TransportError` when none comes.
   */
  whenOpen(timeoutMs: number): Promise<Session> {
    if (this.#session) return Promise.resolve(this.#session);
    if (this.#stopped) return Promise.reject(stoppedError());
    return new Promise<Session>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(
            new TransportError(
              `RabbitMQ was not reachable within ${timeoutMs} ms: ${describeAttempt(this.#lastError)}`,
              {
                cause: this.#lastError,
                retriable: true,
              },
            ),
          );
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Drops a session that a component found broken (e.g. a channel could not be opened); a reconnect follows. */
  discard(session: Session, error: unknown): void {
    if (this.#session !== session) return;
    this.#lastError = redactError(error, this.#options.secrets);
    this.#options.logger.warn('RabbitMQ connection discarded; reconnecting', { error });
    session.model.close().catch(() => undefined);
  }

  /** Closes the connection and stops reconnecting; pending waits reject. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(stoppedError());
    }
    this.#waiters.clear();
    await this.#opening?.catch(() => undefined);
    const session = this.#session;
    this.#session = undefined;
    if (session) await session.model.close().catch(() => undefined);
  }

  #scheduleReconnect(delayMs: number): void {
    if (this.#stopped || this.#timer || this.#opening) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#opening = this.#open();
      this.#opening.then(
        () => {
          this.#opening = undefined;
        },
        (error) => {
          this.#opening = undefined;
          this.#lastError = redactError(error, this.#options.secrets);
          this.#options.logger.warn('RabbitMQ connection attempt failed', { error, attempt: this.#attempt });
          this.#scheduleReconnect(this.#nextDelay());
        },
      );
    }, delayMs);
  }

  #nextDelay(): number {
    const { initialDelayMs, factor, maxDelayMs } = this.#options.reconnect;
    const base = Math.min(initialDelayMs * factor ** this.#attempt, maxDelayMs);
    this.#attempt++;
    // ±20 % jitter, never above the cap.
    return Math.min(maxDelayMs, Math.round(base * (0.8 + Math.random() * 0.4)));
  }

  async #open(): Promise<Session> {
    const model = await connect(withHeartbeat(this.#options.url, this.#options.heartbeatSeconds), {
      clientProperties: { connection_name: this.#options.connectionName },
    });
    if (this.#stopped) {
      await model.close().catch(() => undefined);
      throw stoppedError();
    }
    const session: Session = { model, generation: ++this.#generation };
    // Without an 'error' listener an emitted error would crash the process.
    model.on('error', (error: Error) => {
      this.#lastError = redactError(error, this.#options.secrets);
      this.#options.logger.warn('RabbitMQ connection error', { error });
    });
    model.on('blocked', (reason: string) =>
      this.#options.logger.warn('RabbitMQ blocked this connection', { reason }),
    );
    model.on('unblocked', () => this.#options.logger.info('RabbitMQ unblocked this connection'));
    model.once('close', (error?: Error) => {
      if (this.#session !== session) return;
      this.#session = undefined;
      if (this.#stopped) return;
      this.#lastError = redactError(error ?? new Error('connection closed'), this.#options.secrets);
      this.#options.logger.warn('RabbitMQ connection lost; reconnecting', { error });
      this.#scheduleReconnect(this.#nextDelay());
    });
    this.#session = session;
    for (const hook of [...this.#hooks]) {
      if (this.#session !== session) break; // dropped again while re-declaring: the next session redoes it
      try {
        await hook(session);
      } catch (error) {
        this.#options.logger.warn('Re-establishing a RabbitMQ component failed', { error });
      }
    }
    if (this.#session !== session) throw this.#lastError ?? new Error('connection closed while opening');
    this.#attempt = 0;
    if (session.generation > 1) this.#reconnects++;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(session);
    }
    this.#waiters.clear();
    return session;
  }
}

/** amqplib takes the heartbeat from the URL; an explicit `?heartbeat=` in the URL wins. */
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (parsed.searchParams.has('heartbeat')) return url;
  parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}

function describeAttempt(error: unknown): string {
  return error === undefined ? 'no attempt finished yet' : describeError(error);
}
