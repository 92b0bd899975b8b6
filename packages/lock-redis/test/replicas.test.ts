import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrls, requireRedis } from './helpers.js';
import { Cluster, type Database, prepareDatabase, RABBITMQ_URL } from './replicas/cluster.js';
import { expectEveryEventHandledOnce, expectIncreasingTokens, runScenario } from './replicas/scenario.js';

// Three bus replicas in separate processes on one PostgreSQL outbox, RabbitMQ
// between them, one Redis node as the lock (ABP's setup: one relay per database).
const TTL = 3_000;
const WAIT = 200;
const DATABASE_NAME = 'lock-redis-replicas';
const [redisUrl] = redisUrls(1);

let database: Database;
let cluster: Cluster;

beforeAll(async () => {
  await requireRedis([redisUrl!]);
  database = await prepareDatabase(DATABASE_NAME);
  cluster = new Cluster({
    service: 'lock-redis-test',
    databaseName: DATABASE_NAME,
    pgUrl: database.url,
    rabbitUrl: RABBITMQ_URL,
    exchange: 'lock-redis-test',
    redisUrls: [redisUrl!],
    lockTtlMs: TTL,
    lockWaitMs: WAIT,
    relayShards: 1,
    shardTenureMs: 30_000,
  });
});

afterAll(async () => {
  cluster?.killAll();
  await database?.close();
});

describe('three replicas in separate processes, one Redis node', () => {
  it('deliver every event once, hand over within the TTL after SIGKILL, and survive a Redis restart', async () => {
    const result = await runScenario({
      cluster,
      database,
      lockTtlMs: TTL,
      outboxKeys: [`herald:outbox:${DATABASE_NAME}:Default`],
      restartPort: new URL(redisUrl!).port,
    });
    console.log('[replicas, one Redis node]', JSON.stringify(result));

    await expectEveryEventHandledOnce(database, result.published);
    // No record was sent and marked by two relays (the lock plus the store's claim lease).
    expect(result.relayDuplicates).toBe(0);
    // The dead holder's lease runs out (≤ TTL after its last renewal), then a
    // standby's next try (every WAIT ms) wins.
    for (const handover of Object.values(result.handovers))
      expect(handover).toBeLessThanOrEqual(TTL + WAIT + 500);
    expect(result.resumedAfterKillMs).toBeLessThanOrEqual(TTL + WAIT + 1_000);
    // The node came back empty, so the holder's next renewal failed and the lock was taken again.
    expect(result.reacquiredAfterRestartMs).not.toBeNull();
    expect(result.restartGapMs, 'delivery pauses less than a TTL across the Redis restart').toBeLessThan(TTL);
    expectIncreasingTokens(cluster);
  }, 120_000);
});
