import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrls, requireRedis } from './helpers.js';
import { Cluster, type Database, prepareDatabase, RABBITMQ_URL } from './replicas/cluster.js';
import { expectEveryEventHandledOnce, expectIncreasingTokens, runScenario } from './replicas/scenario.js';

// Beyond ABP's one relay per database: core's `relayShards` splits the outbox
// by ordering-key hash into shards, each relayed under its own lease, so the
// three replicas relay in parallel. The lock is Redlock over three Redis nodes.
const TTL = 3_000;
const WAIT = 200;
const SHARDS = 4;
const DATABASE_NAME = 'lock-redis-sharded';
const urls = redisUrls(3);

let database: Database;
let cluster: Cluster;

beforeAll(async () => {
  await requireRedis(urls);
  database = await prepareDatabase(DATABASE_NAME);
  cluster = new Cluster({
    service: 'lock-redis-test',
    databaseName: DATABASE_NAME,
    pgUrl: database.url,
    rabbitUrl: RABBITMQ_URL,
    exchange: 'lock-redis-test',
    redisUrls: urls,
    lockTtlMs: TTL,
    lockWaitMs: WAIT,
    relayShards: SHARDS,
    // Shards are handed back now and then, so they spread over the replicas.
    shardTenureMs: 1_500,
  });
});

afterAll(async () => {
  cluster?.killAll();
  await database?.close();
});

describe('three replicas in separate processes, sharded relay, Redlock on three nodes', () => {
  it('deliver every event once, take over a killed replica’s shards within the TTL, and ride out a node restart', async () => {
    const outboxKeys = Array.from(
      { length: SHARDS },
      (_, index) => `herald:outbox:${DATABASE_NAME}:Default:shard-${index}-of-${SHARDS}`,
    );
    const result = await runScenario({
      cluster,
      database,
      lockTtlMs: TTL,
      outboxKeys,
      restartPort: new URL(urls[1]!).port,
      spreadAcross: 2,
    });
    console.log('[replicas, sharded, three Redis nodes]', JSON.stringify(result));

    await expectEveryEventHandledOnce(database, result.published);
    // No record was sent and marked by two relays (the lock plus the store's claim lease).
    expect(result.relayDuplicates).toBe(0);
    for (const handover of Object.values(result.handovers))
      expect(handover).toBeLessThanOrEqual(TTL + WAIT + 500);
    expect(result.resumedAfterKillMs).toBeLessThanOrEqual(TTL + WAIT + 1_000);
    // A majority of the nodes kept every lock: the restart of one should barely show.
    expect(result.restartGapMs).toBeLessThan(TTL);
    expectIncreasingTokens(cluster);
  }, 120_000);
});
