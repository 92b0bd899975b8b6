// Building blocks of the Herald side of the workloads: Prisma client, event log, transports, lock.
import {
  createIntegrationEventBus,
  type EventLog,
  type IntegrationEventBusBuilder,
  type OutboxStore,
  silentLogger,
} from '@herald/core';
import { redisLock } from '@herald/lock-redis';
import { prismaEventLog } from '@herald/outbox-prisma';
import { daprTransport } from '@herald/transport-dapr';
import { kafkaTransport } from '@herald/transport-kafka';
import { rabbitMqTransport } from '@herald/transport-rabbit';
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
  /** Redis URLs: use the Redis lock. */
  lockUrls?: string[];
  /** LISTEN for wake-ups from other processes. Default true. */
  listen?: boolean;
  poolSize?: number;
}

export function createPrisma(url: string, poolSize = POOL_SIZE): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: url, max: poolSize }) });
}

export function createTransport(config: TransportConfig) {
  switch (config.kind) {
    case 'rabbitmq':
      return rabbitMqTransport({
        url: config.url,
        exchange: config.exchange,
        ...(config.prefetch ? { prefetch: config.prefetch } : {}),
        ...(config.confirmWindow ? { confirmWindow: config.confirmWindow } : {}),
      });
    case 'kafka':
      return kafkaTransport({
        brokers: config.brokers,
        clientId: config.clientId,
        logger: silentLogger,
        ...(config.partitionsConsumedConcurrently
          ? { consumer: { partitionsConsumedConcurrently: config.partitionsConsumedConcurrently } }
          : {}),
      });
    case 'dapr':
      return daprTransport({
        daprGrpcPort: config.grpcPort,
        pubsubName: config.pubsubName,
        logger: silentLogger,
      });
    case 'memory':
      return undefined;
  }
}

/** Times the relay's store calls (claim, markPublished) without changing them. */
export class StoreTimings {
  readonly claim = new LatencyRecorder();
  readonly markPublished = new LatencyRecorder();
  /** [ms since start, claim ms, rows] of every non-empty claim, for "claim latency at start vs end". */
  readonly claims: Array<[number, number, number]> = [];
  readonly #start = nowMs();

  wrap(outbox: OutboxStore): OutboxStore {
    const timings = this;
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
          return async (request: unknown, send: (records: unknown[]) => Promise<unknown>) => {
            const t0 = nowMs();
            let sentAt = 0;
            const rows = await (value as (...a: unknown[]) => Promise<unknown[]>).call(
              target,
              request,
              async (records: unknown[]) => {
                const t1 = nowMs();
                timings.claim.record(t1 - t0);
                timings.claims.push([t1 - timings.#start, t1 - t0, records.length]);
                const outcome = await send(records);
                sentAt = nowMs();
                return outcome;
              },
            );
            if (sentAt > 0) timings.markPublished.record(nowMs() - sentAt);
            return rows;
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
  close(): Promise<void>;
}

/**
 * A bus builder on the bench database: Prisma event log (LISTEN/NOTIFY on), the
 * transport of the workload, the Redis lock when asked. `relay: false` keeps
 * this process from relaying (producers that leave it to another process, and consumers).
 */
export function heraldBuilder(config: HeraldConfig, role: { relay: boolean }): HeraldSetup {
  const prisma = createPrisma(config.dbUrl, config.poolSize);
  const log = prismaEventLog(prisma, {
    provider: 'postgresql',
    notify: role.relay && config.listen !== false ? { connectionString: config.dbUrl } : {},
    logger: silentLogger,
  });
  const timings = new StoreTimings();
  const builder = createIntegrationEventBus({ service: config.service, logger: silentLogger });
  const transport = createTransport(config.transport);
  if (transport) builder.useTransport(transport);
  builder.useEventLog({ outbox: timings.wrap(log.outbox), inbox: log.inbox }, { sending: role.relay });
  if (config.lockUrls) builder.useLock(redisLock({ urls: config.lockUrls }));
  if (config.options) builder.configure(config.options);
  return {
    builder,
    prisma,
    log,
    timings,
    close: async () => {
      await log.outbox.close().catch(() => undefined);
      await prisma.$disconnect();
    },
  };
}

/** Applies Herald's migrations to the bench database (idempotent). */
export async function migrateHerald(dbUrl: string): Promise<void> {
  const prisma = createPrisma(dbUrl, 1);
  try {
    await prismaEventLog(prisma, { provider: 'postgresql', notify: false }).migrate();
  } finally {
    await prisma.$disconnect();
  }
}
