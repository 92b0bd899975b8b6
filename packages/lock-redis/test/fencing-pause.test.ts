import { afterEach, describe, expect, it } from 'vitest';
import { redisUrls, requireRedis } from './helpers.js';
import { Cluster, type Database, prepareDatabase, RABBITMQ_URL } from './replicas/cluster.js';
import { runPauseScenario } from './replicas/pause-scenario.js';
import { expectEveryEventHandledOnce } from './replicas/scenario.js';

// A relay frozen (SIGSTOP) past its lock's TTL, resumed after another replica
// took over: it wakes up believing it still holds the lock. Fencing (the
// stores refuse its old token; the relay will not send past its lease's end)
// must keep it from sending or marking anything under the lost lease.
const TTL = 3_000;
const WAIT = 200;
const urls = redisUrls(3);

let database: Database | undefined;
let cluster: Cluster | undefined;

afterEach(async () => {
  cluster?.killAll();
  await database?.close();
  cluster = undefined;
  database = undefined;
});

async function setUp(
  databaseName: string,
  relayShards: number,
  shardTenureMs: number,
  redis: string[],
  unfenced = false,
) {
  await requireRedis(redis);
  database = await prepareDatabase(databaseName);
  cluster = new Cluster({
    service: 'lock-redis-test',
    databaseName,
    pgUrl: database.url,
    rabbitUrl: RABBITMQ_URL,
    exchange: 'lock-redis-test',
    redisUrls: redis,
    lockTtlMs: TTL,
    lockWaitMs: WAIT,
    relayShards,
    shardTenureMs,
    unfenced,
  });
  return { database, cluster };
}

describe('a relay paused past its lock TTL (SIGSTOP) and resumed after another took over', () => {
  it('one relay lock: sends nothing and marks nothing under the lost lease; every event handled once', async () => {
    const name = 'lock-redis-paused';
    const { database, cluster } = await setUp(name, 1, 30_000, [urls[0]!]);
    const result = await runPauseScenario({
      cluster,
      database,
      lockTtlMs: TTL,
      outboxKeys: [`herald:outbox:${name}:Default`],
    });
    console.log('[paused relay, one lock]', JSON.stringify(result));
    expect(result.pausedMs).toBeGreaterThan(TTL);
    expect(result.takeoverMs).toBeLessThanOrEqual(TTL + WAIT + 1_000);
    expect(result.staleTransmits, 'batches handed to the broker under the lost lease').toBe(0);
    expect(result.staleMarks, 'records marked under the lost lease').toBe(0);
    expect(result.relayDuplicates).toBe(0);
    await expectEveryEventHandledOnce(database, result.published);
  }, 120_000);

  it('sharded relays (4 shards, Redlock on three nodes): per shard, nothing sent or marked under a lost lease', async () => {
    const name = 'lock-redis-paused-sharded';
    const shards = 4;
    // Shards are handed back now and then, so they spread over the replicas before the pause.
    const { database, cluster } = await setUp(name, shards, 1_500, urls);
    const outboxKeys = Array.from(
      { length: shards },
      (_, index) => `herald:outbox:${name}:Default:shard-${index}-of-${shards}`,
    );
    const result = await runPauseScenario({ cluster, database, lockTtlMs: TTL, outboxKeys, spreadAcross: 2 });
    console.log('[paused relay, sharded]', JSON.stringify(result));
    expect(result.victimKeys.length).toBeGreaterThanOrEqual(1);
    expect(result.pausedMs).toBeGreaterThan(TTL);
    expect(result.staleTransmits, 'batches handed to the broker under a lost shard lease').toBe(0);
    expect(result.staleMarks, 'records marked under a lost shard lease').toBe(0);
    expect(result.relayDuplicates).toBe(0);
    await expectEveryEventHandledOnce(database, result.published);
  }, 120_000);

  it('frozen with a claimed batch in hand, before the relay sends it: on resume it sends nothing; the batch goes out once, by the new holder', async () => {
    const name = 'lock-redis-paused-holding';
    const { database, cluster } = await setUp(name, 1, 30_000, [urls[0]!]);
    const result = await runPauseScenario({
      cluster,
      database,
      lockTtlMs: TTL,
      outboxKeys: [`herald:outbox:${name}:Default`],
      holdingBatch: 'before-send',
    });
    console.log('[paused relay, holding a batch before sending]', JSON.stringify(result));
    expect(result.heldBatch).toBeGreaterThan(0);
    expect(result.pausedMs).toBeGreaterThan(TTL);
    expect(result.staleTransmits, 'the held batch was not handed to the broker').toBe(0);
    expect(result.staleMarks).toBe(0);
    expect(result.relayDuplicates).toBe(0);
    await expectEveryEventHandledOnce(database, result.published);
  }, 120_000);

  it('frozen inside the transport’s publish (past the relay’s own checks): the store refuses its marks; the inbox absorbs the second copy', async () => {
    const name = 'lock-redis-paused-in-send';
    const { database, cluster } = await setUp(name, 1, 30_000, [urls[0]!]);
    const result = await runPauseScenario({
      cluster,
      database,
      lockTtlMs: TTL,
      outboxKeys: [`herald:outbox:${name}:Default`],
      holdingBatch: 'in-send',
    });
    console.log('[paused relay, frozen inside publish]', JSON.stringify(result));
    expect(result.heldBatch).toBeGreaterThan(0);
    expect(result.staleMarks, 'records marked under the lost lease').toBe(0);
    expect(result.lockLost.join(' ')).toContain('StaleFencingTokenError');
    expect(result.relayDuplicates).toBe(0);
    await expectEveryEventHandledOnce(database, result.published);
  }, 120_000);

  it('negative control: the same freeze inside publish without fencing (the store sees no token) marks the batch under the lost lease', async () => {
    const name = 'lock-redis-paused-unfenced';
    const { database, cluster } = await setUp(name, 1, 30_000, [urls[0]!], true);
    const result = await runPauseScenario({
      cluster,
      database,
      lockTtlMs: TTL,
      outboxKeys: [`herald:outbox:${name}:Default`],
      holdingBatch: 'in-send',
    });
    console.log('[paused relay, frozen inside publish, unfenced]', JSON.stringify(result));
    expect(result.heldBatch).toBeGreaterThan(0);
    expect(result.staleMarks, 'what fencing prevents happens without it').toBeGreaterThan(0);
    await expectEveryEventHandledOnce(database, result.published);
  }, 120_000);
});
