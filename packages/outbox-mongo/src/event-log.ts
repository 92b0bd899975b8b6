import { type EventLog, redactError } from '@herald/core';
import type { ClientSession, Collection, Db, Document, MongoClient } from 'mongodb';
import { ChangeStreamWake } from './change-stream-wake.js';
import {
  auxiliaryNames,
  type CollectionNames,
  type InboxDocument,
  type LeaseDocument,
  type OutboxDocument,
  type SequenceBlockDocument,
} from './documents.js';
import { MongoTransactionsUnavailableError } from './errors.js';
import { type FenceDocument, FenceGuard } from './fence-guard.js';
import { MongoInboxStore } from './inbox-store.js';
import { LeaseRegistry } from './lease-registry.js';
import { ensureIndexes } from './migrations.js';
import { type MongoEventLogOptions, type MongoEventLogSettings, resolveSettings } from './options.js';
import { MongoOutboxStore } from './outbox-store.js';
import { SequenceAllocator } from './sequence-allocator.js';
import { inspectServer, type ServerInfo } from './server.js';
import { runInTransaction, type TransactionMode } from './sessions.js';

/**
 * The outbox and inbox of one MongoDB database, returned by {@link mongoEventLog}.
 * Pass it to `builder.useEventLog(eventLog)`.
 */
export interface MongoEventLog extends EventLog {
  /** The outbox store on the outbox collection. */
  readonly outbox: MongoOutboxStore;
  /** The inbox store on the inbox collection. */
  readonly inbox: MongoInboxStore;
  /** The database holding the collections. */
  readonly db: Db;
  /** Names of the outbox and inbox collections (each has `<name>_leases` and `<name>_sequences` beside it). */
  readonly collections: CollectionNames;
  /** `required`: writes join the caller's transaction; `off`: no transactions (see {@link MongoEventLogOptions}). */
  readonly transactions: TransactionMode;
  /**
   * Checks the server and creates the collections' indexes (idempotent); every
   * store operation also runs it once on first use.
   *
   * @throws {MongoTransactionsUnavailableError} with `transactions: 'required'`
   *   when the server is a standalone `mongod` or FerretDB (no multi-document transactions).
   */
  init(): Promise<ServerInfo>;
  /** Creates the collections and their indexes (idempotent), without checking the server. */
  ensureIndexes(): Promise<void>;
  /**
   * Runs `work` in a transaction on this database, or with `undefined` when
   * transactions are `'off'`. It fits `@herald/uow`.
   */
  readonly transaction: <T>(work: (session: ClientSession | undefined) => Promise<T>) => Promise<T>;
  /** Stops the outbox change stream. The client is yours: this never closes it. */
  close(): Promise<void>;
}

/**
 * The outbox and inbox of one MongoDB database, for
 * `builder.useEventLog(mongoEventLog(client, { db: 'shop' }))`.
 *
 * ```ts
 * const client = new MongoClient('mongodb://localhost:27017/?replicaSet=rs0');
 * const eventLog = mongoEventLog(client, { db: 'shop' });
 * await eventLog.init(); // checks the server, creates indexes (also done lazily on first use)
 * const bus = createIntegrationEventBus({ service: 'ordering' }).useEventLog(eventLog).build();
 *
 * const session = client.startSession();
 * await session.withTransaction(async () => {
 *   await orders.insertOne(order, { session });
 *   await bus.publish(new OrderPlaced({ orderId }), { tx: session }); // commits with the order
 * });
 * await session.endSession();
 * ```
 *
 * The client stays yours: Herald never closes it.
 */
export function mongoEventLog(client: MongoClient, options: MongoEventLogOptions): MongoEventLog {
  return new MongoDbEventLog(resolveSettings(client, options));
}

class MongoDbEventLog implements MongoEventLog {
  readonly outbox: MongoOutboxStore;
  readonly inbox: MongoInboxStore;
  /** The database holding the collections. */
  readonly db: Db;
  /** Names of the outbox and inbox collections (each has `<name>_leases`, `<name>_sequences` and `<name>_fences` beside it). */
  readonly collections: CollectionNames;
  readonly transactions: TransactionMode;
  readonly #settings: MongoEventLogSettings;
  #ready: Promise<ServerInfo> | undefined;

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
        fences: new FenceGuard(settings.db.collection<FenceDocument>(inboxAux.fences)),
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

  /** Creates the collections and their indexes (see `migrations.ts`). */
  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.db, this.collections);
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
