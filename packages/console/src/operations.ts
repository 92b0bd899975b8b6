import {
  type ErrorEntry,
  type EventLogConfig,
  HeraldError,
  type InboxKey,
  type InboxRecord,
  type IntegrationEventBus,
  type OutboxRecord,
  type RecordQuery,
} from '@herald/core';

/** A record as operators see it: metadata, decoded payload text, and the error. */
export interface RecordView {
  /** Which store the record comes from: an outbox row (to send) or an inbox entry (received). */
  readonly kind: 'outbox' | 'inbox';
  /** Name of the event-log configuration whose store holds the record. */
  readonly log: string;
  /** The message id (an inbox entry is identified by this id together with {@link handler}). */
  readonly id: string;
  /** Inbox only: the stable name of the handler this entry belongs to; undefined for outbox rows. */
  readonly handler?: string;
  /** The integration event's name as on the wire. */
  readonly eventName: string;
  /**
   * The store's status: outbox `pending`, `failed`, `published` or `dead`; inbox
   * `processing`, `processed`, `failed` or `dead`.
   */
  readonly status: string;
  /** Failed attempts the store has recorded (publishes for the outbox, handlings for the inbox). */
  readonly attempts: number;
  /** The key that orders the record among its siblings; null when the event has none. */
  readonly orderingKey: string | null;
  /** ISO 8601 instant the outbox row was written, or the inbox entry was received. */
  readonly createdAt: string;
  /** ISO 8601 instant of the next try; null when none is scheduled (done, dead, or due at once). */
  readonly nextAttemptAt: string | null;
  /** The message of the latest failure; null when the record has not failed. */
  readonly lastError: string | null;
  /** Recent failures, oldest first (empty when the store keeps none). */
  readonly errorHistory: ReadonlyArray<{
    /** ISO 8601 instant of the failure. */
    readonly at: string;
    /** The failure's message. */
    readonly error: string;
  }>;
  /** The message's wire headers; null for an inbox entry whose message is no longer kept. */
  readonly headers: Readonly<Record<string, string>> | null;
  /** The body as text (JSON for the default serializer), truncated to 64 KiB. */
  readonly body: string | null;
}

/** The operation asked for something the store cannot do. */
export class OperationNotSupportedError extends HeraldError {
  constructor(message: string) {
    super('HERALD_OPERATION_NOT_SUPPORTED', message);
  }
}

const decoder = new TextDecoder();
const MAX_BODY = 64 * 1024;

function bodyText(body: Uint8Array | undefined): string | null {
  if (!body) return null;
  const text = decoder.decode(body.subarray(0, MAX_BODY));
  return body.byteLength > MAX_BODY ? `${text}… (${body.byteLength} bytes)` : text;
}

function history(entries: readonly ErrorEntry[] | undefined): RecordView['errorHistory'] {
  return (entries ?? []).map((entry) => ({ at: entry.at.toISOString(), error: entry.error }));
}

function outboxView(log: string, record: OutboxRecord): RecordView {
  return {
    kind: 'outbox',
    log,
    id: record.message.id,
    eventName: record.message.name,
    status: record.status,
    attempts: record.attempts,
    orderingKey: record.message.orderingKey ?? null,
    createdAt: record.createdAt.toISOString(),
    nextAttemptAt: record.nextAttemptAt?.toISOString() ?? null,
    lastError: record.lastError,
    errorHistory: history(record.errorHistory),
    headers: record.message.headers,
    body: bodyText(record.message.body),
  };
}

function inboxView(log: string, record: InboxRecord): RecordView {
  return {
    kind: 'inbox',
    log,
    id: record.messageId,
    handler: record.handler,
    eventName: record.eventName,
    status: record.status,
    attempts: record.attempts,
    orderingKey: record.orderingKey,
    createdAt: record.receivedAt.toISOString(),
    nextAttemptAt: record.nextAttemptAt?.toISOString() ?? null,
    lastError: record.lastError,
    errorHistory: history(record.errorHistory),
    headers: record.message?.headers ?? null,
    body: bodyText(record.message?.body),
  };
}

/** Filter for listings. */
export interface ListQuery extends RecordQuery {
  /** Event-log configuration name; default: all. */
  readonly log?: string;
  /** Inbox listings only: entries of this handler (its stable name); default: all handlers. */
  readonly handler?: string;
}

/**
 * Operations over a bus's event logs, through the store ports only — so the
 * same console works for Prisma, MongoDB and in-memory stores alike.
 */
export class Operations {
  readonly #logs: readonly EventLogConfig[];

  constructor(source: IntegrationEventBus | { eventLogs: readonly EventLogConfig[] }) {
    this.#logs = source.eventLogs;
  }

  /** Names of the event-log configurations and what they hold. */
  logs(): Array<{
    /** The event-log configuration's name (what `log` filters by). */
    name: string;
    /** Name of its outbox store; null when the configuration has no outbox. */
    outbox: string | null;
    /** Name of its inbox store; null when the configuration has no inbox. */
    inbox: string | null;
  }> {
    return this.#logs.map((log) => ({
      name: log.name,
      outbox: log.outbox?.name ?? null,
      inbox: log.inbox?.name ?? null,
    }));
  }

  /**
   * Outbox rows matching `query`, from every event log (or the one `query.log` names),
   * at most `query.limit` (default 100). Throws {@link OperationNotSupportedError} for an unknown log.
   */
  async listOutbox(query: ListQuery = {}): Promise<RecordView[]> {
    const views: RecordView[] = [];
    for (const log of this.#select(query.log)) {
      if (!log.outbox) continue;
      for (const record of await log.outbox.list(query)) views.push(outboxView(log.name, record));
    }
    return views.slice(0, query.limit ?? 100);
  }

  /**
   * Inbox entries matching `query`, from every event log (or the one `query.log` names),
   * at most `query.limit` (default 100). Throws {@link OperationNotSupportedError} for an unknown log.
   */
  async listInbox(query: ListQuery = {}): Promise<RecordView[]> {
    const views: RecordView[] = [];
    for (const log of this.#select(query.log)) {
      if (!log.inbox) continue;
      for (const record of await log.inbox.list(query)) views.push(inboxView(log.name, record));
    }
    return views.slice(0, query.limit ?? 100);
  }

  /** One record by id (outbox) or id + handler (inbox). */
  async show(kind: 'outbox' | 'inbox', id: string, handler?: string): Promise<RecordView | undefined> {
    const all =
      kind === 'outbox'
        ? await this.listOutbox({ limit: 100_000 })
        : await this.listInbox({ limit: 100_000 });
    return all.find((view) => view.id === id && (handler === undefined || view.handler === handler));
  }

  /** Makes failed/dead outbox records pending again (re-publish). */
  async requeueOutbox(ids: readonly string[], log?: string): Promise<number> {
    let changed = 0;
    for (const config of this.#select(log))
      if (config.outbox) changed += await config.outbox.requeue(ids, new Date());
    return changed;
  }

  /** Makes failed/dead inbox entries due now (handle again). */
  async requeueInbox(keys: readonly InboxKey[], log?: string): Promise<number> {
    let changed = 0;
    for (const config of this.#select(log))
      if (config.inbox) changed += await config.inbox.requeue(keys, new Date());
    return changed;
  }

  /**
   * Deletes outbox rows by message id (in the log named `log`, default all); returns how many
   * were deleted. Throws {@link OperationNotSupportedError} when a store cannot purge.
   */
  async purgeOutbox(ids: readonly string[], log?: string): Promise<number> {
    let deleted = 0;
    for (const config of this.#select(log)) {
      if (!config.outbox) continue;
      if (!config.outbox.purge)
        throw new OperationNotSupportedError(`The ${config.outbox.name} outbox cannot purge`);
      deleted += await config.outbox.purge(ids);
    }
    return deleted;
  }

  /**
   * Deletes inbox entries by message id and handler (in the log named `log`, default all); returns
   * how many were deleted. A purged entry no longer deduplicates its message. Throws
   * {@link OperationNotSupportedError} when a store cannot purge.
   */
  async purgeInbox(keys: readonly InboxKey[], log?: string): Promise<number> {
    let deleted = 0;
    for (const config of this.#select(log)) {
      if (!config.inbox) continue;
      if (!config.inbox.purge)
        throw new OperationNotSupportedError(`The ${config.inbox.name} inbox cannot purge`);
      deleted += await config.inbox.purge(keys);
    }
    return deleted;
  }

  #select(name: string | undefined): readonly EventLogConfig[] {
    if (name === undefined) return this.#logs;
    const found = this.#logs.filter((log) => log.name === name);
    if (found.length === 0) throw new OperationNotSupportedError(`No event log named "${name}"`);
    return found;
  }
}
