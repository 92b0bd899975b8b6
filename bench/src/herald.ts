// Building blocks of the Herald side of the workloads: Prisma client, event log, transports, lock.
import {
  type ClaimRequest,
  createIntegrationEventBus,
  type DeliveryHandler,
  type EventLog,
  type InboxStore,
  type IntegrationEventBusBuilder,
  type OutboxStore,
  silentLogger,
  type Transport,
} from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/client/client.ts';
import { POOL_SIZE } from './db.ts';
import { LatencyRecorder, nowMs } from './histogram.ts';

export type TransportConfig =
  | { kind: 'rabbitmq'; url: string; exchange: string; prefetch?: number; confirmWindow?: number }
  | { kind: 'kafka'; brokers: string[]; clientId: string; partitionsConsumedConcurrently?: number }
  | { kind: 'dapr'; grpcPort: number; pubsubName: string }
  | { kind: 'memory' };

/** What every Herald worker gets from the runner. */
export interface HeraldConfig {
  dbUrl: string;
  service: string;
  eventName: string;
  transport: TransportConfig;
  /** Bus options (core's `configure`). */
  options?: Record<string, number>;
  /** Record per-message stage timestamps (e2e at low rates: where the milliseconds go). */
  stages?: boolean;
  /** Redis URLs: use the Redis lock. */
  lockUrls?: string[];
  /** LISTEN for wake-ups from other processes. Default true. */
  listen?: boolean;
  poolSize?: number;
}

export function createPrisma(url: string, poolSize = POOL_SIZE): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
}

/**
 * The workload's transport. Imported on demand: a relay on RabbitMQ does not load kafkajs (and the
 * other way round), so its RSS holds what a deployed relay would.
 */
export async function createTransport(config: TransportConfig) {
  switch (config.kind) {
    case 'rabbitmq': {
      const { rabbitMqTransport } = await import('@herald/transport-rabbit');
      return rabbitMqTransport({
        url: config.url,
        exchange: config.exchange,
        ...(config.prefetch ? { prefetch: config.prefetch } : {}),
        ...(config.confirmWindow ? { confirmWindow: config.confirmWindow } : {}),
      });
    }
    case 'kafka': {
      const { kafkaTransport } = await import('@herald/transport-kafka');
      return kafkaTransport({
        brokers: config.brokers,
        clientId: config.clientId,
        logger: silentLogger,
        ...(config.partitionsConsumedConcurrently
          ? { consumer: { partitionsConsumedConcurrently: config.partitionsConsumedConcurrently } }
          : {}),
      });
    }
    case 'dapr': {
      const { daprTransport } = await import('@herald/transport-dapr');
      return daprTransport({
        daprGrpcPort: config.grpcPort,
        pubsubName: config.pubsubName,
        logger: silentLogger,
      });
    }
    case 'memory':
      return undefined;
  }
}

/** `request` without its fence: the claim the relay would make without a lock's token. */
function withoutFence(request: ClaimRequest): ClaimRequest {
  const { fence: _fence, ...rest } = request;
  return rest;
}

/** Times the relay's store calls (claim, markPublished) without changing them. */
export class StoreTimings {
  readonly claim = new LatencyRecorder();
  readonly markPublished = new LatencyRecorder();
  /** [ms since start, claim ms, rows] of every non-empty claim, for "claim latency at start vs end". */
  readonly claims: Array<[number, number, number]> = [];
  readonly #start = nowMs();
  /**
   * With `stages`: message id → [claim started, batch handed to send, broker confirmed, claim
   * transaction committed] (CLOCK_MONOTONIC ms, comparable across processes).
   */
  readonly stages: Map<string, number[]> | undefined;

  constructor(stages = false) {
    this.stages = stages ? new Map() : undefined;
  }

  wrap(outbox: OutboxStore): OutboxStore {
    const timings = this;
    // BENCH_SERIAL_BATCHES=1: one locked batch at a time (claim → confirms → mark → commit, then the
    // next claim), as the relay worked before it pipelined batches; to measure what that brings.
    let previousBatch: Promise<unknown> = Promise.resolve();
    return new Proxy(outbox, {
      get(target, property) {
        // BENCH_NO_CLAIM_LOCKED=1: lockless relays lease each row instead (to compare the two protocols).
        if (property === 'claimLocked' && process.env.BENCH_NO_CLAIM_LOCKED) return undefined;
        const value = Reflect.get(target, property, target);
        if (property === 'claim') {
          return async (...args: unknown[]) => {
            const t0 = nowMs();
            const rows = await (value as (...a: unknown[]) => Promise<unknown[]>).apply(target, args);
            const t1 = nowMs();
            if (rows.length > 0) {
              timings.claim.record(t1 - t0);
              timings.claims.push([t1 - timings.#start, t1 - t0, rows.length]);
            }
            return rows;
          };
        }
        if (property === 'claimLocked' && typeof value === 'function') {
          // Claim = until the batch is handed to the relay; mark = from its outcome to the commit.
          const timed = async (request: ClaimRequest, send: (records: unknown[]) => Promise<unknown>) => {
            const t0 = nowMs();
            // BENCH_NO_FENCE=1: the same claim without the fencing guard (to measure what the guard costs).
            if (process.env.BENCH_NO_FENCE) request = withoutFence(request);
            let sentAt = 0;
            let ids: string[] = [];
            const rows = await (value as (...a: unknown[]) => Promise<unknown[]>).call(
              target,
              request,
              async (records: unknown[]) => {
                const t1 = nowMs();
                timings.claim.record(t1 - t0);
                timings.claims.push([t1 - timings.#start, t1 - t0, records.length]);
                if (timings.stages) {
                  ids = records.map((r) => (r as { message: { id: string } }).message.id);
                  for (const id of ids) timings.stages.set(id, [t0, t1]);
                }
                const outcome = await send(records);
                sentAt = nowMs();
                for (const id of ids) timings.stages?.get(id)?.push(sentAt);
                return outcome;
              },
            );
            if (sentAt > 0) {
              const committedAt = nowMs();
              timings.markPublished.record(committedAt - sentAt);
              for (const id of ids) timings.stages?.get(id)?.push(committedAt);
            }
            return rows;
          };
          if (!process.env.BENCH_SERIAL_BATCHES) return timed;
          return async (request: ClaimRequest, send: (records: unknown[]) => Promise<unknown>) => {
            const before = previousBatch;
            let done!: () => void;
            previousBatch = new Promise<void>((resolve) => {
              done = resolve;
            });
            await before;
            try {
              return await timed(request, send);
            } finally {
              done();
            }
          };
        }
        if (property === 'markPublished') {
          return async (...args: unknown[]) => {
            const t0 = nowMs();
            await (value as (...a: unknown[]) => Promise<void>).apply(target, args);
            timings.markPublished.record(nowMs() - t0);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  summary() {
    return { claim: this.claim.summary(), markPublished: this.markPublished.summary() };
  }
}

export interface HeraldSetup {
  builder: IntegrationEventBusBuilder;
  prisma: PrismaClient;
  log: EventLog & { migrate(): Promise<unknown>; outbox: { close(): Promise<void> } };
  timings: StoreTimings;
  /** With `stages` (consumers): message id → [delivered to core, inbox begin] (CLOCK_MONOTONIC ms). */
  received: Map<string, number[]> | undefined;
  close(): Promise<void>;
}

/**
 * A bus builder on the bench database: Prisma event log (LISTEN/NOTIFY on), the
 * transport of the workload, the Redis lock when asked. `relay: false` keeps
 * this process from relaying (producers that leave it to another process, and consumers).
 */
export async function heraldBuilder(config: HeraldConfig, role: { relay: boolean }): Promise<HeraldSetup> {
  const prisma = createPrisma(config.dbUrl, config.poolSize);
  const log = prismaEventLog(prisma, {
    provider: 'postgresql',
    notify: role.relay && config.listen !== false ? { connectionString: config.dbUrl } : {},
    // The relay on its own pg pool, as the README recommends; BENCH_PRISMA_RELAY=1: through Prisma (A/B).
    ...(role.relay && process.env.BENCH_PRISMA_RELAY !== '1'
      ? { relayConnection: { connectionString: config.dbUrl } }
      : {}),
    logger: silentLogger,
  });
  const timings = new StoreTimings(config.stages);
  const received = config.stages ? new Map<string, number[]>() : undefined;
  const builder = createIntegrationEventBus({ service: config.service, logger: silentLogger });
  const transport = await createTransport(config.transport);
  if (transport) builder.useTransport(received ? stampDeliveries(transport, received) : transport);
  const inbox = received ? stampInboxBegin(log.inbox, received) : log.inbox;
  builder.useEventLog({ outbox: timings.wrap(log.outbox), inbox }, { sending: role.relay });
  if (config.lockUrls) {
    const { redisLock } = await import('@herald/lock-redis');
    builder.useLock(redisLock({ urls: config.lockUrls }));
  }
  if (config.options) builder.configure(config.options);
  return {
    builder,
    prisma,
    log,
    timings,
    received,
    close: async () => {
      await log.outbox.close().catch(() => undefined);
      await prisma.$disconnect();
    },
  };
}

/** Stamps when the transport hands each delivery to core (the first entry of `received`). */
export function stampDeliveries(transport: Transport, received: Map<string, number[]>): Transport {
  return new Proxy(transport, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== 'subscribe') return typeof value === 'function' ? value.bind(target) : value;
      return (subscription: unknown, handler: DeliveryHandler) =>
        (value as Transport['subscribe']).call(target, subscription as never, (message) => {
          const id = message.headers['herald-id'];
          if (id !== undefined && !received.has(id)) received.set(id, [nowMs()]);
          return handler(message);
        });
    },
  });
}

/** Stamps when the inbox transaction writes each delivery's entry (the second entry of `received`). */
function stampInboxBegin(inbox: InboxStore, received: Map<string, number[]>): InboxStore {
  const stamp = (id: string) => {
    const entry = received.get(id);
    if (entry && entry.length === 1) entry.push(nowMs());
  };
  return new Proxy(inbox, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'tryBegin')
        return (key: { messageId: string }, ...rest: unknown[]) => {
          stamp(key.messageId);
          return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      if (property === 'beginMany')
        return (entries: Array<{ messageId: string }>, ...rest: unknown[]) => {
          for (const entry of entries) stamp(entry.messageId);
          return (value as (...a: unknown[]) => unknown).call(target, entries, ...rest);
        };
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Applies Herald's migrations to the bench database (idempotent); with `relayShards`, as a user of
 * sharded relays does, also the per-shard claim index.
 */
export async function migrateHerald(dbUrl: string, options: { relayShards?: number } = {}): Promise<void> {
  const prisma = createPrisma(dbUrl, 1);
  try {
    await prismaEventLog(prisma, { provider: 'postgresql', notify: false }).migrate(options);
  } finally {
    await prisma.$disconnect();
  }
}
