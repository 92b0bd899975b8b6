import type { Collection, Document, MongoClient } from 'mongodb';
import type { TransactionMode } from './sessions.js';

/** What a store shares with its event log. */
export interface StoreContext<D extends Document> {
  readonly client: MongoClient;
  readonly collection: Collection<D>;
  readonly transactions: TransactionMode;
  readonly databaseName: string;
  /** The event log's lazy `init()`: server check and indexes, once. */
  ready(): Promise<unknown>;
}
