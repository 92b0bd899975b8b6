import { deleteRabbitTopology } from '../brokers.ts';
import { withClient } from '../db.ts';
import { migrateHerald, type TransportConfig } from '../herald.ts';
import { ratioOf, type Workload } from '../workload.ts';
import { relayRun } from './relay.ts';

/** Shards of the outbox: twice the replicas, so a replica that leaves spreads its load over several. */
const SHARDS = 8;

/**
 * Sharded relays: four relay processes, `relayShards` 8, each shard under its own Redis lock,
 * against one relay process with the same settings, both into a plain amqplib consumer that counts
 * duplicates by message id (every copy a handler would see before the inbox).
 */
export const relays4: Workload = {
  id: 'relays-4',
  title: `four relay processes, relayShards ${SHARDS} (Redis lock per shard) → RabbitMQ, vs one relay with the same settings`,
  services: ['postgres', 'rabbitmq', 'redis'],
  timeoutMs: (quick) => (quick ? 240_000 : 600_000),
  async run(ctx) {
    const count = ctx.drainCount;
    // A shard held elsewhere is tried again soon and handed back often, so four replicas spread at once.
    const options = { relayShards: SHARDS, distributedLockWaitDuration: 250, shardTenure: 5_000 };
    const exchanges: string[] = [];
    const once = (name: string, relays: number) => {
      const transport: TransportConfig = {
        kind: 'rabbitmq',
        url: ctx.engines.rabbitUrl,
        exchange: `bench.${ctx.runId}.${name}`,
      };
      exchanges.push(transport.exchange);
      return relayRun(ctx, name, {
        transport,
        count,
        relays,
        lockUrls: ctx.engines.redisUrls,
        options,
        settleMs: 3_000,
        timeoutMs: ctx.quick ? 90_000 : 280_000,
      });
    };
    // What a user of relayShards gets from migrate({ relayShards }): each shard's claim is an index
    // range. Dropped afterwards, so the other workloads' inserts do not maintain it.
    await migrateHerald(ctx.dbUrl, { relayShards: SHARDS });
    try {
      const single = await once('relays1', 1);
      const two = await once('relays2', 2);
      const four = await once('relays4', 4);
      const ratio = ratioOf(four.eventsPerSec, single.eventsPerSec);
      return {
        ...four,
        relayShards: SHARDS,
        ratio,
        oneRelay: {
          eventsPerSec: single.eventsPerSec,
          duplicates: single.duplicates,
          rowRewritesPerEvent: single.rowRewritesPerEvent,
        },
        twoRelays: {
          eventsPerSec: two.eventsPerSec,
          ratio: ratioOf(two.eventsPerSec, single.eventsPerSec),
          duplicates: two.duplicates,
          sentPerRelay: two.sentPerRelay,
        },
        targets: [
          ...(ratio === undefined ? [] : [{ label: `≥ 1.3 × one relay (${ratio})`, met: ratio >= 1.3 }]),
          {
            label: `zero duplicates reaching the consumer (${four.duplicates})`,
            met: four.duplicates === 0 && two.duplicates === 0 && single.duplicates === 0,
          },
        ],
        notes: [
          `${count} events per run; relayShards ${SHARDS} with migrate({ relayShards })'s per-shard claim index, distributedLockWaitDuration 250 ms, shardTenure 5 s; Redis lock on ${ctx.engines.redisUrls.length} node(s); ratio: 4 relay processes vs 1 with the same settings in this run (twoRelays: 2 vs 1); duplicates counted by message id in a plain amqplib consumer, 3 s after the last new event`,
        ],
      };
    } finally {
      await withClient(ctx.dbUrl, async (db) => {
        await db.query(`DROP INDEX IF EXISTS "herald_outbox_shard${SHARDS}_idx"`);
        await db.query(`DROP STATISTICS IF EXISTS "herald_outbox_shard${SHARDS}_stats"`);
      });
      for (const exchange of exchanges)
        await deleteRabbitTopology(ctx.engines.rabbitUrl, exchange, []).catch(() => undefined);
    }
  },
};
