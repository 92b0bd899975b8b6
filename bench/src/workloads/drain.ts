import { deleteKafkaTopics, deleteRabbitTopology } from '../brokers.ts';
import { PUBSUB, startSidecar } from '../dapr-sidecar.ts';
import { dbStats, perEvent, resetTables, statsDelta, withClient } from '../db.ts';
import type { HeraldConfig, TransportConfig } from '../herald.ts';
import { nowMs } from '../histogram.ts';
import { rate, ratioOf, type Workload, type WorkloadContext, type WorkloadResult } from '../workload.ts';

/** Fills the outbox with `count` committed events (1000 per transaction), without relaying them. */
export async function fillOutbox(ctx: WorkloadContext, base: HeraldConfig, count: number): Promise<void> {
  const filler = ctx.workers.spawn('fill', 'herald-producer', {
    ...base,
    service: 'bench-producer',
    mode: 'fill',
    relay: false,
    count,
    batch: 1000,
  });
  await filler.next('ready', 60_000);
  filler.send({ type: 'go' });
  const filled = await filler.next('done', 600_000);
  if (filled.done !== count) throw new Error(`filled ${filled.done} of ${count} events`);
  await filler.stop();
}

export interface DrainOptions {
  transport: TransportConfig;
  count: number;
  /** Relay processes (relays-4: several, with the Redis lock). */
  relays?: number;
  lockUrls?: string[];
  options?: Record<string, number>;
  /** Extra wait for late duplicates after the count was reached. */
  settleMs?: number;
  /** The handler inserts one row through `ctx.tx` (real handler work) instead of doing nothing. */
  handlerWrites?: boolean;
  timeoutMs: number;
}

/**
 * Drains a pre-filled outbox: relay process(es) → broker → consumer process (inbox, no-op
 * handler). Throughput is events handled / time from the relay's start to the last handler call.
 */
export async function drain(
  ctx: WorkloadContext,
  name: string,
  drainOptions: DrainOptions,
): Promise<WorkloadResult> {
  const eventName = `bench.${ctx.runId}.${name}`;
  const base: HeraldConfig = {
    dbUrl: ctx.dbUrl,
    service: 'bench-relay',
    eventName,
    transport: drainOptions.transport,
    ...(drainOptions.options ? { options: drainOptions.options } : {}),
  };
  await resetTables(ctx.dbUrl);
  ctx.log(`filling the outbox with ${drainOptions.count} events`);
  await fillOutbox(ctx, base, drainOptions.count);
  const before = await withClient(ctx.dbUrl, dbStats);
  const consumer = ctx.workers.spawn(`${name}-consumer`, 'herald-bus', {
    ...base,
    service: 'bench-consumer',
    relay: false,
    handle: true,
    startNow: true,
    expected: drainOptions.count,
    ...(drainOptions.handlerWrites ? { handlerWrites: true } : {}),
  });
  await consumer.next('started', 60_000);
  const relayCount = drainOptions.relays ?? 1;
  const relays = Array.from({ length: relayCount }, (_, i) =>
    ctx.workers.spawn(`${name}-relay-${i}`, 'herald-bus', {
      ...base,
      ...(drainOptions.lockUrls ? { lockUrls: drainOptions.lockUrls } : {}),
      relay: true,
      handle: false,
    }),
  );
  for (const relay of relays) await relay.next('ready', 60_000);
  for (const relay of relays) relay.send({ type: 'go' });
  const starts = await Promise.all(relays.map((relay) => relay.next('started', 60_000)));
  const startedAt = Math.min(...starts.map((s) => s.startedAt as number));
  let lastLogged = 0;
  let latest = { handled: 0, at: startedAt };
  consumer.channel.on('progress', (m) => {
    latest = { handled: m.handled, at: nowMs() };
    if (m.handled - lastLogged >= drainOptions.count / 4) {
      lastLogged = m.handled;
      ctx.log(`${m.handled} handled`);
    }
  });
  // Bounded: past the limit the rate so far is reported (with a note) instead of nothing.
  const finished = await Promise.race([
    consumer.next('done', drainOptions.timeoutMs + 5_000),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), drainOptions.timeoutMs)),
  ]);
  const unfinished = finished === undefined;
  const done = finished ?? { type: 'done', handled: latest.handled, first: startedAt, last: latest.at };
  if (drainOptions.settleMs) await new Promise((r) => setTimeout(r, drainOptions.settleMs));
  const after = await withClient(ctx.dbUrl, dbStats);
  consumer.send({ type: 'report' });
  const consumed = await consumer.next('report', 30_000);
  const relayReports = await Promise.all(
    relays.map(async (relay) => {
      relay.send({ type: 'report' });
      return relay.next('report', 30_000);
    }),
  );
  await Promise.all([consumer, ...relays].map((w) => w.stop()));
  const elapsed = done.last - startedAt;
  const main = relayReports.reduce((a, b) => (b.sent > a.sent ? b : a));
  return {
    ...(unfinished
      ? {
          unfinished: `only ${done.handled} of ${drainOptions.count} handled within ${drainOptions.timeoutMs / 1000} s`,
        }
      : {}),
    eventsPerSec: rate(done.handled, elapsed),
    events: done.handled,
    seconds: Math.round(elapsed) / 1000,
    duplicates: consumed.duplicates,
    sentPerRelay: relayReports.map((r) => r.sent),
    claimMs: main.timings.claim,
    markPublishedMs: main.timings.markPublished,
    ...perEvent(statsDelta(before, after), done.handled),
  };
}

function rabbitConfig(ctx: WorkloadContext, name: string): TransportConfig {
  return { kind: 'rabbitmq', url: ctx.engines.rabbitUrl, exchange: `bench.${ctx.runId}.${name}` };
}

export const drainRabbit: Workload = {
  id: 'drain-rabbit',
  title: 'outbox (PostgreSQL) → relay → RabbitMQ → inbox → no-op handler, pre-filled backlog',
  services: ['postgres', 'rabbitmq'],
  timeoutMs: (quick) => (quick ? 110_000 : 400_000),
  async run(ctx) {
    const transport = rabbitConfig(ctx, 'drain');
    try {
      const result = await drain(ctx, 'drain', {
        transport,
        count: ctx.drainCount,
        timeoutMs: ctx.quick ? 60_000 : 300_000,
      });
      const raw = ctx.results['raw-rabbit']?.eventsPerSec;
      const ratio = ratioOf(result.eventsPerSec, raw);
      // The same drain with a handler that inserts one row through ctx.tx: real handler work.
      const writes = await drain(ctx, 'drainw', {
        transport: rabbitConfig(ctx, 'drainw'),
        count: ctx.drainCount,
        timeoutMs: ctx.quick ? 60_000 : 300_000,
        handlerWrites: true,
      }).finally(() =>
        deleteRabbitTopology(ctx.engines.rabbitUrl, `bench.${ctx.runId}.drainw`, ['bench-consumer']).catch(
          () => undefined,
        ),
      );
      const writesRatio = ratioOf(writes.eventsPerSec, raw);
      return {
        ...result,
        ratio,
        variants: { 'handler-writes': { ...writes, ratio: writesRatio } },
        targets:
          ratio === undefined
            ? []
            : [
                { label: `≥ 0.6 × raw-rabbit (${ratio})`, met: ratio >= 0.6 },
                {
                  label: `handler-writes ≥ 0.4 × raw-rabbit (${writesRatio})`,
                  met: (writesRatio ?? 0) >= 0.4,
                },
                {
                  label: `≤ 0.3 statements per event (${result.statementsPerEvent})`,
                  met: (result.statementsPerEvent as number) <= 0.3,
                },
              ],
        notes: [
          `${ctx.drainCount} events; relay and consumer in separate processes; bus and transport defaults; handler-writes: one INSERT through ctx.tx per event`,
        ],
      };
    } finally {
      if (transport.kind === 'rabbitmq')
        await deleteRabbitTopology(transport.url, transport.exchange, ['bench-consumer']).catch(
          () => undefined,
        );
    }
  },
};

export const drainKafka: Workload = {
  id: 'drain-kafka',
  title: 'outbox (PostgreSQL) → relay → Kafka → inbox → no-op handler, pre-filled backlog',
  services: ['postgres', 'kafka'],
  timeoutMs: (quick) => (quick ? 120_000 : 450_000),
  async run(ctx) {
    const transport: TransportConfig = {
      kind: 'kafka',
      brokers: ctx.engines.kafkaBrokers,
      clientId: `bench-${ctx.runId}`,
    };
    const count = ctx.quick ? 5_000 : ctx.drainCount;
    try {
      const result = await drain(ctx, 'kdrain', {
        transport,
        count,
        timeoutMs: ctx.quick ? 40_000 : 360_000,
      });
      const ratio = ratioOf(result.eventsPerSec, ctx.results['raw-kafka']?.eventsPerSec);
      return {
        ...result,
        ratio,
        targets: ratio === undefined ? [] : [{ label: `≥ 0.5 × raw-kafka (${ratio})`, met: ratio >= 0.5 }],
        notes: [
          `${count} events; relay and consumer in separate processes; bus and transport defaults (3 partitions, partitionsConsumedConcurrently 4)`,
        ],
      };
    } finally {
      await deleteKafkaTopics(ctx.engines.kafkaBrokers, [
        `bench.${ctx.runId}.kdrain`,
        'herald.dlq.bench-consumer',
      ]).catch(() => undefined);
    }
  },
};

export const drainDapr: Workload = {
  id: 'drain-dapr',
  title:
    'outbox (PostgreSQL) → relay → daprd 1.18 → Redis Streams → daprd → inbox → no-op handler, pre-filled backlog',
  services: ['postgres', 'redis', 'dapr'],
  timeoutMs: (quick) => (quick ? 150_000 : 450_000),
  async run(ctx) {
    const count = ctx.quick ? 5_000 : ctx.drainCount;
    // One sidecar for the relay and the consumer, as raw-dapr: its app id is the consumer group.
    const sidecar = await startSidecar(`bench-drain-${ctx.runId}`, ctx.engines.redisUrls[0]!);
    try {
      const result = await drain(ctx, 'ddrain', {
        transport: { kind: 'dapr', grpcPort: sidecar.grpcPort, pubsubName: PUBSUB },
        count,
        timeoutMs: ctx.quick ? 90_000 : 360_000,
      });
      const ratio = ratioOf(result.eventsPerSec, ctx.results['raw-dapr']?.eventsPerSec);
      return {
        ...result,
        ratio,
        notes: [
          `${count} events; relay and consumer in separate processes through one daprd (Redis Streams component, concurrency 100); bus and transport defaults (bulk publish, streaming subscription)`,
        ],
      };
    } finally {
      await sidecar.stop();
    }
  },
};
