import { deleteKafkaTopics, deleteRabbitTopology } from '../brokers.ts';
import { dbStats, perEvent, resetTables, statsDelta, withClient } from '../db.ts';
import type { HeraldConfig, TransportConfig } from '../herald.ts';
import { rate, ratioOf, type Workload, type WorkloadContext, type WorkloadResult } from '../workload.ts';
import { fillOutbox } from './drain.ts';

/** How a relay-only run is set up: relay process(es) → broker → a plain consumer that acks. */
export interface RelayRunOptions {
  transport: TransportConfig;
  count: number;
  /** Relay processes; several need `lockUrls` to share the outbox. */
  relays?: number;
  lockUrls?: string[];
  options?: Record<string, number>;
  /** Wait after the last new message, counting late duplicates. */
  settleMs?: number;
  timeoutMs: number;
}

/**
 * The relay beside the raw publisher sending what it sends (the raw workload's `herald-headers`
 * variant): how much of the gap to the raw ceiling is Herald's wire format in the client library.
 */
function toHeraldHeaders(
  ctx: WorkloadContext,
  raw: 'raw-rabbit' | 'raw-kafka',
  result: WorkloadResult,
): { ratioToHeraldHeaders?: number; summary?: string } {
  const variants = ctx.results[raw]?.variants as Record<string, WorkloadResult> | undefined;
  const ratio = ratioOf(result.eventsPerSec, variants?.['herald-headers']?.eventsPerSec);
  return ratio === undefined
    ? {}
    : { ratioToHeraldHeaders: ratio, summary: `${ratio} × ${raw} with Herald's headers` };
}

/** Row updates of the outbox table so far (PostgreSQL's statistics; HOT updates included). */
async function outboxRowUpdates(url: string): Promise<number> {
  return withClient(url, async (db) => {
    const result = await db.query<{ n: string }>(
      `SELECT n_tup_upd::text AS n FROM pg_stat_user_tables WHERE relname = 'herald_outbox'`,
    );
    return Number(result.rows[0]?.n ?? 0);
  });
}

/**
 * Drains a pre-filled outbox with Herald relay process(es) into a plain amqplib/kafkajs consumer
 * (ack only, duplicates counted by message id): the send side alone, beside raw-rabbit/raw-kafka.
 * Reports row rewrites and WAL bytes per event on the send side.
 */
export async function relayRun(
  ctx: WorkloadContext,
  name: string,
  run: RelayRunOptions,
): Promise<WorkloadResult> {
  const eventName = `bench.${ctx.runId}.${name}`;
  const base: HeraldConfig = {
    dbUrl: ctx.dbUrl,
    service: 'bench-relay',
    eventName,
    transport: run.transport,
    ...(run.options ? { options: run.options } : {}),
  };
  await resetTables(ctx.dbUrl);
  ctx.log(`filling the outbox with ${run.count} events`);
  await fillOutbox(ctx, base, run.count);
  // Statistics of the filled table, as autovacuum keeps them for a table that churns like an outbox:
  // the claim's plan (and the sharded claim's use of its index) depends on them.
  await withClient(ctx.dbUrl, (db) => db.query('ANALYZE herald_outbox'));
  const consumer =
    run.transport.kind === 'kafka'
      ? ctx.workers.spawn(`${name}-consumer`, 'raw-kafka-con', {
          brokers: run.transport.brokers,
          topic: eventName,
          group: `bench-${name}-${ctx.runId}`,
          count: run.count,
          partitions: 3,
          countDuplicates: true,
        })
      : ctx.workers.spawn(`${name}-consumer`, 'raw-rabbit-con', {
          url: ctx.engines.rabbitUrl,
          exchange: (run.transport as { exchange: string }).exchange,
          queue: `${eventName}.raw`,
          routingKey: eventName,
          count: run.count,
          prefetch: 256,
          countDuplicates: true,
        });
  await consumer.next('ready', 60_000);
  const relays = Array.from({ length: run.relays ?? 1 }, (_, i) =>
    ctx.workers.spawn(`${name}-relay-${i}`, 'herald-bus', {
      ...base,
      ...(run.lockUrls ? { lockUrls: run.lockUrls } : {}),
      relay: true,
      handle: false,
      rssEveryMs: 500,
    }),
  );
  for (const relay of relays) await relay.next('ready', 60_000);
  const updatesBefore = await outboxRowUpdates(ctx.dbUrl);
  const before = await withClient(ctx.dbUrl, dbStats);
  for (const relay of relays) relay.send({ type: 'go' });
  const starts = await Promise.all(relays.map((relay) => relay.next('started', 60_000)));
  const startedAt = Math.min(...starts.map((s) => s.startedAt as number));
  await consumer.next('reached', run.timeoutMs);
  if (run.settleMs) await new Promise((resolve) => setTimeout(resolve, run.settleMs));
  consumer.send({ type: 'settled' });
  const done = await consumer.next('done', 60_000);
  const relayReports = await Promise.all(
    relays.map(async (relay) => {
      relay.send({ type: 'report' });
      return relay.next('report', 30_000);
    }),
  );
  await Promise.all([consumer, ...relays].map((w) => w.stop()));
  // Read after the relays exited: a backend flushes its table statistics when it ends.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const after = await withClient(ctx.dbUrl, dbStats);
  const updates = (await outboxRowUpdates(ctx.dbUrl)) - updatesBefore;
  const main = relayReports.reduce((a, b) => (b.sent > a.sent ? b : a));
  const events = done.received - done.duplicates;
  const elapsed = done.last - startedAt;
  return {
    eventsPerSec: rate(events, elapsed),
    events,
    seconds: Math.round(elapsed) / 1000,
    duplicates: done.duplicates,
    rowRewritesPerEvent: Math.round((updates / Math.max(1, events)) * 1000) / 1000,
    sentPerRelay: relayReports.map((r) => r.sent),
    relayRssMb: Math.max(...relayReports.map((r) => r.rssNowMb as number)),
    relayMemoryMb: main.memoryMb,
    relayRssSamplesMb: (main.rss as Array<[number, number]>).map(([, mb]) => mb),
    claimMs: main.timings.claim,
    markPublishedMs: main.timings.markPublished,
    ...perEvent(statsDelta(before, after), events),
  };
}

/** The lock every relay workload runs with: holding it makes the claim exclusive (one rewrite per row). */
function lockOf(ctx: WorkloadContext): string[] {
  return ctx.engines.redisUrls;
}

export const relayRabbit: Workload = {
  id: 'relay-rabbit',
  title: 'outbox (PostgreSQL) backlog → one relay (Redis lock) → RabbitMQ → amqplib consumer (ack only)',
  services: ['postgres', 'rabbitmq', 'redis'],
  timeoutMs: (quick) => (quick ? 120_000 : 400_000),
  async run(ctx) {
    const transport: TransportConfig = {
      kind: 'rabbitmq',
      url: ctx.engines.rabbitUrl,
      exchange: `bench.${ctx.runId}.relay`,
    };
    const count = ctx.drainCount;
    try {
      const result = await relayRun(ctx, 'relay', {
        transport,
        count,
        lockUrls: lockOf(ctx),
        timeoutMs: ctx.quick ? 90_000 : 360_000,
      });
      const ratio = ratioOf(result.eventsPerSec, ctx.results['raw-rabbit']?.eventsPerSec);
      return {
        ...result,
        ratio,
        ...toHeraldHeaders(ctx, 'raw-rabbit', result),
        targets: [
          ...(ratio === undefined ? [] : [{ label: `≥ 0.8 × raw-rabbit (${ratio})`, met: ratio >= 0.8 }]),
          {
            label: `at most one rewrite of an outbox row (${result.rowRewritesPerEvent} per event)`,
            met: (result.rowRewritesPerEvent as number) <= 1.01,
          },
        ],
        notes: [
          `${count} events of 1 KB; one relay process holding the Redis lock (exclusive claims); plain amqplib consumer, prefetch 256, ack only`,
        ],
      };
    } finally {
      await deleteRabbitTopology(ctx.engines.rabbitUrl, transport.exchange, []).catch(() => undefined);
    }
  },
};

export const relayKafka: Workload = {
  id: 'relay-kafka',
  title: 'outbox (PostgreSQL) backlog → one relay (Redis lock) → Kafka → kafkajs consumer group',
  services: ['postgres', 'kafka', 'redis'],
  timeoutMs: (quick) => (quick ? 150_000 : 450_000),
  async run(ctx) {
    const transport: TransportConfig = {
      kind: 'kafka',
      brokers: ctx.engines.kafkaBrokers,
      clientId: `bench-${ctx.runId}`,
    };
    const count = ctx.drainCount;
    try {
      const result = await relayRun(ctx, 'krelay', {
        transport,
        count,
        lockUrls: lockOf(ctx),
        timeoutMs: ctx.quick ? 110_000 : 400_000,
      });
      const ratio = ratioOf(result.eventsPerSec, ctx.results['raw-kafka']?.eventsPerSec);
      return {
        ...result,
        ratio,
        ...toHeraldHeaders(ctx, 'raw-kafka', result),
        targets: ratio === undefined ? [] : [{ label: `≥ 0.6 × raw-kafka (${ratio})`, met: ratio >= 0.6 }],
        notes: [
          `${count} events of 1 KB; one relay process holding the Redis lock; kafkajs consumer group, 3 partitions, eachMessage`,
        ],
      };
    } finally {
      await deleteKafkaTopics(ctx.engines.kafkaBrokers, [`bench.${ctx.runId}.krelay`]).catch(() => undefined);
    }
  },
};
