// pg-transactional-outbox (the peer), wired the way its README describes: polling listeners on an
// outbox and an inbox table (schema `peer`), a message publisher that sends each outbox message to
// RabbitMQ and awaits the broker's confirm, and a RabbitMQ receiver that stores each message in the
// inbox in its own transaction; the inbox listener runs the (no-op) handler.

import type pg from 'pg';
import {
  DatabaseSetup,
  getDefaultLogger,
  getDisabledLogger,
  type PollingListenerConfig,
  type TransactionalMessage,
} from 'pg-transactional-outbox';
import { BENCH_DATABASE } from './db.ts';

export const PEER_SCHEMA = 'peer';

/** Listener settings the peer is run with. */
export interface PeerTuning {
  /** nextMessagesBatchSize (default 5): messages processed at once. */
  batchSize?: number;
  /** nextMessagesPollingIntervalInMs (default 500). */
  pollingIntervalMs?: number;
  /** RabbitMQ prefetch of the inbox receiver. */
  prefetch: number;
}

export function connectionConfig(url: string, max: number): pg.PoolConfig {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    max,
  };
}

export function listenerConfig(
  which: 'outbox' | 'inbox',
  url: string,
  tuning: PeerTuning,
  poolSize: number,
): PollingListenerConfig {
  return {
    outboxOrInbox: which,
    dbListenerConfig: connectionConfig(url, poolSize),
    dbHandlerConfig: connectionConfig(url, poolSize),
    settings: {
      dbSchema: PEER_SCHEMA,
      dbTable: which,
      nextMessagesFunctionSchema: PEER_SCHEMA,
      nextMessagesFunctionName: `next_${which}_messages`,
      enableMaxAttemptsProtection: which === 'inbox',
      enablePoisonousMessageProtection: which === 'inbox',
      ...(tuning.batchSize ? { nextMessagesBatchSize: tuning.batchSize } : {}),
      ...(tuning.pollingIntervalMs ? { nextMessagesPollingIntervalInMs: tuning.pollingIntervalMs } : {}),
      // No cleanup during a run (its default interval is 5 minutes anyway).
      messageCleanupIntervalInMs: 0,
    },
  };
}

/** (Re)creates the peer's outbox and inbox tables, polling functions and indexes (its DatabaseSetup helper). */
export async function setupPeerTables(db: pg.Client): Promise<void> {
  for (const which of ['outbox', 'inbox'] as const) {
    const config = {
      outboxOrInbox: which,
      database: BENCH_DATABASE,
      schema: PEER_SCHEMA,
      table: which,
      listenerRole: 'herald',
      nextMessagesName: `next_${which}_messages`,
    };
    await db.query(DatabaseSetup.dropAndCreateTable(config));
    await db.query(DatabaseSetup.createPollingFunction(config));
    await db.query(DatabaseSetup.setupPollingIndexes(config));
  }
}

/** A 1 KB bench message in the peer's format; `parallel` because the benchmark has no ordering requirement (as for Herald: no ordering key). */
export function peerMessage(seq: number, t: number, pad: string): TransactionalMessage {
  return {
    id: crypto.randomUUID(),
    aggregateType: 'bench',
    aggregateId: String(seq),
    messageType: 'bench_event',
    concurrency: 'parallel',
    payload: { seq, t, pad },
    createdAt: new Date().toISOString(),
  } as TransactionalMessage;
}

export const peerLogger = () =>
  process.env.BENCH_PEER_DEBUG ? getDefaultLogger('peer') : getDisabledLogger();
