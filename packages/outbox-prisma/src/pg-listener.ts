import { ConfigurationError, type Logger } from '@herald/core';
import { loadPg, type PgClient } from './pg-module.js';

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

/**
 * One dedicated PostgreSQL connection that `LISTEN`s on the outbox channel
 * and calls its subscribers on every notification. It connects when the first
 * subscriber arrives (the relay starting), reconnects with exponential backoff
 * after errors, wakes subscribers after a reconnect (notifications sent while
 * it was down are lost), and disconnects when the last one leaves.
 */
export class PgListener {
  readonly #connectionString: string;
  readonly #channel: string;
  readonly #logger: Logger;
  readonly #subscribers = new Set<() => void>();
  #client: PgClient | undefined;
  #active = false;
  #failures = 0;
  #connectedBefore = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #readyWaiters: Array<() => void> = [];
  #listening = false;
  /** The database the outbox is in, as the store's own client sees it (undefined: unknown). */
  readonly #outboxDatabase: (() => Promise<string | undefined>) | undefined;
  /** The check passed once: the same connection string reaches the same database on reconnects. */
  #databaseChecked = false;

  constructor(options: {
    connectionString: string;
    channel: string;
    logger: Logger;
    /** Where the outbox's inserts notify: a LISTEN on another database would never hear them. */
    outboxDatabase?: () => Promise<string | undefined>;
  }) {
    this.#connectionString = options.connectionString;
    this.#channel = options.channel;
    this.#logger = options.logger;
    this.#outboxDatabase = options.outboxDatabase;
  }

  /** Calls `listener` on every notification; returns an unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.#subscribers.add(listener);
    if (!this.#active) {
      this.#active = true;
      void this.#connect();
    }
    return () => {
      this.#subscribers.delete(listener);
      if (this.#subscribers.size === 0) void this.#stop();
    };
  }

  /** True while `LISTEN` is in effect on a live connection. */
  get listening(): boolean {
    return this.#listening;
  }

  /** Resolves once `LISTEN` is in effect (at once when nobody subscribed). */
  whenListening(): Promise<void> {
    if (this.#listening || !this.#active) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Disconnects and forgets every subscriber. */
  async close(): Promise<void> {
    this.#subscribers.clear();
    await this.#stop();
  }

  async #connect(): Promise<void> {
    if (!this.#active) return;
    let client: PgClient | undefined;
    try {
      const pg = await loadPg('notify.connectionString');
      client = new pg.Client({ connectionString: this.#connectionString, application_name: 'herald-listen' });
      const current = client;
      this.#client = current;
      current.on('notification', (message) => {
        if (message.channel === this.#channel) this.#notify();
      });
      current.on('error', (error) => this.#lost(current, error));
      current.on('end', () => this.#lost(current, new Error('The LISTEN connection ended')));
      await current.connect();
      await this.#checkDatabase(current);
      await current.query(`LISTEN "${this.#channel.replaceAll('"', '""')}"`);
      if (this.#client !== current) return; // stopped or replaced meanwhile
      this.#listening = true;
      this.#failures = 0;
      if (this.#connectedBefore) this.#notify(); // catch up on what was missed while disconnected
      this.#connectedBefore = true;
      this.#logger.debug('Listening for outbox notifications', { channel: this.#channel });
      this.#releaseWaiters();
    } catch (error) {
      if (client && !(error instanceof ConfigurationError)) return this.#lost(client, error);
      // No `pg`, a connection string it cannot even parse, or another database: retrying would not help.
      if (client && this.#client === client) {
        this.#client = undefined;
        void retire(client);
      }
      this.#logger.error('Cannot listen for outbox notifications; relying on polling', { error });
      this.#releaseWaiters();
    }
  }

  /**
   * NOTIFY reaches only listeners of the same database. A connection string
   * naming another database than the outbox's would listen forever in vain
   * (and the relay would count on wake-ups that never come): refuse it.
   */
  async #checkDatabase(client: PgClient): Promise<void> {
    if (!this.#outboxDatabase || this.#databaseChecked) return;
    // Unknown (the store's client failed): checked again on the next connection.
    const expected = await this.#outboxDatabase().catch(() => undefined);
    if (expected === undefined) return;
    const result = await client.query('SELECT current_database() AS name');
    const actual = (result.rows[0] as { name?: unknown } | undefined)?.name;
    if (typeof actual !== 'string') return;
    if (actual === expected) {
      this.#databaseChecked = true;
      return;
    }
    throw new ConfigurationError(
      `notify.connectionString points at database "${actual}", but the outbox is in "${expected}": ` +
        'PostgreSQL delivers NOTIFY only within one database, so no wake-up would ever arrive',
    );
  }

  #lost(client: PgClient, error: unknown): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#listening = false;
    retire(client);
    if (!this.#active) return;
    this.#failures++;
    const delayMs = Math.min(MIN_BACKOFF_MS * 2 ** (this.#failures - 1), MAX_BACKOFF_MS);
    this.#logger.warn('PostgreSQL LISTEN connection lost; reconnecting (polling covers the gap)', {
      channel: this.#channel,
      delayMs,
      error,
    });
    this.#retryTimer = setTimeout(() => void this.#connect(), delayMs);
    this.#retryTimer.unref?.();
  }

  async #stop(): Promise<void> {
    this.#active = false;
    this.#listening = false;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    this.#releaseWaiters();
    if (client) await retire(client);
  }

  #releaseWaiters(): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #notify(): void {
    for (const subscriber of this.#subscribers) subscriber();
  }
}

/** Closes a client we no longer use, keeping late 'error' events from crashing the process. */
function retire(client: PgClient): Promise<void> {
  client.removeAllListeners();
  client.on('error', () => undefined);
  return client.end().catch(() => undefined);
}
