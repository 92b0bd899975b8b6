import { type EventLog, type Logger, redactError } from '@herald/core';
import type { ClientSession, Collection, Db, Document, IndexDescription, MongoClient } from 'mongodb';
import { ChangeStreamWake } from './change-stream-wake.js';
import {
  auxiliaryNames,
  type CollectionNames,
  INBOX_INDEXES,
  type InboxDocument,
  LEASE_INDEXES,
  type LeaseDocument,
  OUTBOX_INDEXES,
  type OutboxDocument,
  SEQUENCE_INDEXES,
  type SequenceBlockDocument,
} from './documents.js';
import { MongoTransactionsUnavailableError } from './errors.js';
import { FENCE_INDEXES, type FenceDocument, FenceGuard } from './fence-guard.js';
import { LeaseRegistry } from './lease-registry.js';
import { MongoInboxStore } from './mongo-inbox-store.js';
import { MongoOutboxStore } from './mongo-outbox-store.js';
import { SequenceAllocator } from './sequence-allocator.js';
import { inspectServer, type ServerInfo } from './server.js';
import { runInTransaction, type TransactionMode } from './sessions.js';

/** listIndexes on a collection that does not exist yet. */
const NAMESPACE_NOT_FOUND = 26;

/** Resolved settings of one event log (see `mongoEventLog`). */
export interface MongoEventLogSettings {
  readonly client: MongoClient;
  readonly db: Db;
  readonly collections: CollectionNames;
  readonly transactions: TransactionMode;
  readonly changeStreams: 'auto' | 'off';
  readonly databaseName: string;
  readonly logger: Logger;
  /** The client's password, redacted from errors Herald hands on. */
  readonly secrets: readonly string[];
}

/**
 * The outbox and inbox of one MongoDB database, returned by `mongoEventLog`.
 * Pass it to `builder.useEventLog(eventLog)`.
 */
export class MongoEventLog implements EventLog {
  readonly outbox: MongoOutboxStore;
  readonly inbox: MongoInboxStore;
  /** The database holding the collections. */
  readonly db: Db;
  /** Names of the outbox and inbox collections (each has `<name>_leases` and `<name>_sequences` beside it; the outbox also `<name>_fences`). */
  readonly collections: CollectionNames;
  readonly transactions: TransactionMode;
  readonly #settings: MongoEventLogSettings;
  #ready: Promise<ServerInfo> | undefined;

  /** @internal use `mongoEventLog(client, options)` */
  constructor(settings: MongoEventLogSettings) {
    this.#settings = settings;
    this.db = settings.db;
    this.collections = settings.collections;
    this.transactions = settings.transactions;
    const ready = () => this.init();
    const outboxAux = auxiliaryNames(settings.collections.outbox);
    const inboxAux = auxiliaryNames(settings.collections.inbox);
    const outboxCollection = settings.db.collection<OutboxDocument>(settings.collections.outbox);
    this.outbox = new MongoOutboxStore(
      { ...this.#shared(ready), collection: outboxCollection },
      {
        sequences: new SequenceAllocator(settings.db.collection<SequenceBlockDocument>(outboxAux.sequences)),
        leases: new LeaseRegistry(settings.db.collection<LeaseDocument>(outboxAux.leases)),
        fences: new FenceGuard(settings.db.collection<FenceDocument>(outboxAux.fences)),
        wake: new ChangeStreamWake(outboxCollection as unknown as Collection<Document>, {
          enabled: settings.changeStreams === 'auto',
          logger: settings.logger,
        }),
      },
    );
    this.inbox = new MongoInboxStore(
      {
        ...this.#shared(ready),
        collection: settings.db.collection<InboxDocument>(settings.collections.inbox),
      },
      {
        sequences: new SequenceAllocator(settings.db.collection<SequenceBlockDocument>(inboxAux.sequences)),
        leases: new LeaseRegistry(settings.db.collection<LeaseDocument>(inboxAux.leases)),
      },
    );
  }

  #shared(ready: () => Promise<unknown>) {
    const { client, transactions, databaseName } = this.#settings;
    return { client, transactions, databaseName, ready };
  }

  /**
   * Checks the server and creates the collections' indexes (idempotent).
   * Call it at start-up to fail fast; every store operation also runs it once
   * on first use, because the bus builder has no async start hook for stores.
   *
   * @throws {MongoTransactionsUnavailableError} with `transactions: 'required'`
   *   when the server is a standalone `mongod` or FerretDB (no multi-document transactions).
   * @returns what the server reported (replica set name, FerretDB version…).
   */
  init(): Promise<ServerInfo> {
    this.#ready ??= this.#initialize().catch((error: unknown) => {
      this.#ready = undefined; // a later call tries again (the server may have been down)
      throw redactError(error, this.#settings.secrets);
    });
    return this.#ready;
  }

  async #initialize(): Promise<ServerInfo> {
    const server = await inspectServer(this.db);
    if (this.transactions === 'required' && !server.transactions) {
      throw new MongoTransactionsUnavailableError(server);
    }
    await this.ensureIndexes();
    this.#settings.logger.debug('MongoDB event log ready', {
      database: this.db.databaseName,
      transactions: this.transactions,
      replicaSet: server.setName,
      ferretDb: server.ferretDbVersion,
    });
    return server;
  }

  /**
   * Creates the collections and their indexes (idempotent), without checking
   * the server. Collections are created here, outside any transaction, so the
   * first transactional insert never has to create one.
   */
  async ensureIndexes(): Promise<void> {
    const { outbox, inbox } = this.collections;
    const plan: Array<[string, IndexDescription[]]> = [
      [outbox, OUTBOX_INDEXES],
      [auxiliaryNames(outbox).leases, LEASE_INDEXES],
      [auxiliaryNames(outbox).sequences, SEQUENCE_INDEXES],
      [auxiliaryNames(outbox).fences, FENCE_INDEXES],
      [inbox, INBOX_INDEXES],
      [auxiliaryNames(inbox).leases, LEASE_INDEXES],
      [auxiliaryNames(inbox).sequences, SEQUENCE_INDEXES],
    ];
    // One command per missing index, one after the other: FerretDB 1.24 panics (and drops the connection)
    // on a createIndexes listing several indexes that already exist.
    for (const [name, indexes] of plan) {
      const collection = this.db.collection(name);
      const existing = await collection
        .listIndexes()
        .toArray()
        .catch((error: unknown) => {
          if ((error as { code?: unknown }).code === NAMESPACE_NOT_FOUND) return [];
          throw error;
        });
      const names = new Set(existing.map((index) => index.name));
      for (const index of indexes) if (!names.has(index.name)) await collection.createIndexes([index]);
    }
  }

  /**
   * Runs `work` in a transaction on this database (a session in
   * `withTransaction`; `work` may run more than once on transient errors), or
   * with `undefined` when transactions are `'off'`. It fits `@herald/uow`:
   * `createUnitOfWorkManager({ transaction: eventLog.transaction })`.
   */
  readonly transaction = async <T>(work: (session: ClientSession | undefined) => Promise<T>): Promise<T> => {
    if (this.transactions === 'off') return work(undefined);
    await this.init();
    return runInTransaction(this.#settings.client, work);
  };

  /** Stops the outbox change stream. The client is yours: this never closes it. */
  async close(): Promise<void> {
    await this.outbox.close();
  }
}
