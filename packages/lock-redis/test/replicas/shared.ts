import { defineEvent } from '@herald/core';

/** The event the parent publishes and every replica handles. */
export const Tick = defineEvent<{ run: string; n: number }>('lock-redis-test.tick');

/** What a replica reads from its environment (set by the parent). */
export interface ReplicaSettings {
  readonly replica: string;
  readonly run: string;
  readonly service: string;
  readonly databaseName: string;
  readonly pgUrl: string;
  readonly rabbitUrl: string;
  readonly exchange: string;
  readonly redisUrls: string[];
  readonly lockTtlMs: number;
  readonly lockWaitMs: number;
  readonly relayShards: number;
  readonly shardTenureMs: number;
  /** Negative control: the replica's store sees no fencing tokens and its leases never seem to expire. */
  readonly unfenced?: boolean;
}

export function replicaSettings(env: NodeJS.ProcessEnv): ReplicaSettings {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`replica: ${name} is not set`);
    return value;
  };
  return {
    replica: required('REPLICA'),
    run: required('REPLICA_RUN'),
    service: required('REPLICA_SERVICE'),
    databaseName: required('REPLICA_DATABASE_NAME'),
    pgUrl: required('REPLICA_PG_URL'),
    rabbitUrl: required('REPLICA_RABBITMQ_URL'),
    exchange: required('REPLICA_EXCHANGE'),
    redisUrls: required('REPLICA_REDIS_URLS').split(','),
    lockTtlMs: Number(required('REPLICA_LOCK_TTL')),
    lockWaitMs: Number(required('REPLICA_LOCK_WAIT')),
    relayShards: Number(env.REPLICA_RELAY_SHARDS ?? '1'),
    shardTenureMs: Number(env.REPLICA_SHARD_TENURE ?? '30000'),
    unfenced: env.REPLICA_UNFENCED === '1',
  };
}

/** Turns settings into the environment of a replica process. */
export function replicaEnv(settings: ReplicaSettings): Record<string, string> {
  return {
    REPLICA: settings.replica,
    REPLICA_RUN: settings.run,
    REPLICA_SERVICE: settings.service,
    REPLICA_DATABASE_NAME: settings.databaseName,
    REPLICA_PG_URL: settings.pgUrl,
    REPLICA_RABBITMQ_URL: settings.rabbitUrl,
    REPLICA_EXCHANGE: settings.exchange,
    REPLICA_REDIS_URLS: settings.redisUrls.join(','),
    REPLICA_LOCK_TTL: String(settings.lockTtlMs),
    REPLICA_LOCK_WAIT: String(settings.lockWaitMs),
    REPLICA_RELAY_SHARDS: String(settings.relayShards),
    REPLICA_SHARD_TENURE: String(settings.shardTenureMs),
    REPLICA_UNFENCED: settings.unfenced ? '1' : '0',
  };
}

/** Messages a replica sends to the parent. */
export type ReplicaReport =
  | { type: 'ready'; at: number }
  | { type: 'acquired'; key: string; token: string; at: number }
  | { type: 'extend-failed'; key: string; at: number; reason: string }
  | { type: 'released'; key: string; at: number }
  /** Marked published after the broker confirmed (the relay's `sent` event), with the record's shard bucket. */
  | { type: 'sent'; id: string; bucket: number; at: number }
  /** A batch handed to the transport's publish, before the broker saw it. */
  | { type: 'transmit'; ids: string[]; buckets: number[]; at: number }
  | { type: 'handled'; id: string; at: number }
  | { type: 'duplicate'; id: string; at: number }
  | { type: 'error'; where: string; error: string; at: number }
  /** A relay found it lost its lock (store refused its fencing token, or its lease ran out before a send). */
  | { type: 'lock-lost'; reason: string; at: number }
  /** Armed by the parent: a claimed batch (rows locked) is held here until `go` (see {@link FreezePoint}). */
  | { type: 'holding-batch'; ids: string[]; at: number };

/** Messages the parent sends to a replica. */
export type ParentMessage = { type: 'stop' } | { type: 'arm-freeze'; where: FreezePoint } | { type: 'go' };

/**
 * Where a replica holds its next claimed batch when armed: `before-send` as
 * the store hands the locked rows to the relay (before the relay checks its
 * lease), `in-send` inside the transport's publish (past every check of the
 * relay: only the store's fencing of the marks is left).
 */
export type FreezePoint = 'before-send' | 'in-send';
