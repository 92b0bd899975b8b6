/**
 * One replica of a service, run as its own process by replicas.test.ts
 * (`node --import tsx`): a bus on the PostgreSQL event log of
 * @herald/outbox-prisma, the RabbitMQ transport and the Redis lock. It relays
 * the shared outbox while it holds the lock (or some shards) and handles the
 * test events in competition with the other replicas, writing one row per
 * handled event through the inbox transaction.
 *
 * It reports to the parent over IPC: `ready`, `acquired` / `extend-failed` /
 * `released` (from a thin wrapper around the lock, so the parent sees every
 * lease), `transmit` (a batch handed to the transport), `sent`, `handled`,
 * `duplicate` and `error`. On `{ type: 'stop' }`
 * it stops the bus and exits 0.
 */
import {
  bucketOf,
  type ClaimRequest,
  createIntegrationEventBus,
  type DistributedLock,
  type LockLease,
  type Logger,
  type OutboxRecord,
  type OutboxStore,
  silentLogger,
  type Transport,
} from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { rabbitMqTransport } from '@herald/transport-rabbit';
import { PrismaPg } from '@prisma/adapter-pg';
import { redisLock } from '../../src/index.js';
import { PrismaClient } from './generated/client/client.js';
import { type FreezePoint, type ParentMessage, type ReplicaReport, replicaSettings, Tick } from './shared.js';

const settings = replicaSettings(process.env);
const report = (message: ReplicaReport) => process.send?.(message);

/** Reports every lease outcome to the parent; behaviour is the real lock's. */
function observed(lock: DistributedLock): DistributedLock {
  const watch = (lease: LockLease): LockLease => ({
    key: lease.key,
    fencingToken: lease.fencingToken,
    get expiresAt() {
      return lease.expiresAt;
    },
    async extend(ttlMs) {
      try {
        const extended = await lease.extend(ttlMs);
        if (!extended) report({ type: 'extend-failed', key: lease.key, at: Date.now(), reason: 'lost' });
        return extended;
      } catch (error) {
        report({ type: 'extend-failed', key: lease.key, at: Date.now(), reason: String(error) });
        throw error;
      }
    },
    async release() {
      report({ type: 'released', key: lease.key, at: Date.now() });
      await lease.release();
    },
  });
  return {
    name: lock.name,
    async acquire(key, ttlMs) {
      const lease = await lock.acquire(key, ttlMs);
      if (lease) report({ type: 'acquired', key, token: lease.fencingToken.toString(), at: Date.now() });
      return lease && watch(lease);
    },
    close: () => lock.close?.() ?? Promise.resolve(),
  };
}

/** `unfenced` (negative control of the pause test): the outbox store never sees a fencing token. */
const unfenced = settings.unfenced === true;

/** Armed by the parent: the next claimed batch waits at this point until `go`. */
let freezeAt: FreezePoint | undefined;
let go: (() => void) | undefined;
process.on('message', (message: ParentMessage) => {
  if (message?.type === 'arm-freeze') freezeAt = message.where;
  else if (message?.type === 'go') go?.();
});

/** Holds a batch at `point` if armed there: reports it, then waits for the parent's `go`. */
async function holdIfArmed(point: FreezePoint, ids: readonly string[]): Promise<void> {
  if (freezeAt !== point || ids.length === 0) return;
  freezeAt = undefined;
  const released = new Promise<void>((resolve) => {
    go = resolve;
  });
  report({ type: 'holding-batch', ids: [...ids], at: Date.now() });
  await released;
}

/** The outbox store with the test's two interventions (both off unless asked). */
function instrumented<L extends { outbox: OutboxStore }>(log: L): L {
  const store = log.outbox;
  const call = (value: unknown, ...args: unknown[]) =>
    (value as (...a: unknown[]) => unknown).apply(store, args);
  const outbox = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const strip = (request: ClaimRequest): ClaimRequest =>
        unfenced ? { ...request, fence: undefined } : request;
      if (property === 'claim') return (request: ClaimRequest) => call(value, strip(request));
      if (property === 'claimLocked')
        return (request: ClaimRequest, send: (records: readonly OutboxRecord[]) => Promise<unknown>) =>
          call(value, strip(request), async (records: readonly OutboxRecord[]) => {
            await holdIfArmed(
              'before-send',
              records.map((r) => r.message.id),
            );
            return send(records);
          });
      if (unfenced && (property === 'markPublished' || property === 'markFailed'))
        return (first: unknown, now: Date) => call(value, first, now);
      if (unfenced && property === 'release') return (ids: readonly string[]) => call(value, ids);
      return value.bind(target);
    },
  });
  return new Proxy(log, {
    get: (target, property) => (property === 'outbox' ? outbox : Reflect.get(target, property)),
  });
}

/** Reports every batch handed to the broker, before it goes out; behaviour is the real transport's. */
function observedTransport(transport: Transport): Transport {
  return new Proxy(transport, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'publish') {
        return (messages: Parameters<Transport['publish']>[0]) => {
          report({
            type: 'transmit',
            ids: messages.map((message) => message.id),
            buckets: messages.map((message) => bucketOf(message.orderingKey ?? message.id)),
            at: Date.now(),
          });
          return holdIfArmed(
            'in-send',
            messages.map((message) => message.id),
          ).then(() => target.publish(messages));
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: settings.pgUrl }) });
const lock = redisLock({ urls: settings.redisUrls, operationTimeoutMs: 1_000 });
/** Silent, except that a relay's "lost its lock" warning is reported to the parent with its reason. */
const logger: Logger = {
  ...silentLogger,
  warn(message, context) {
    if (message.includes('lost its lock'))
      report({ type: 'lock-lost', reason: String(context?.error), at: Date.now() });
  },
};

const bus = createIntegrationEventBus({ service: settings.service, logger })
  .useTransport(
    observedTransport(
      rabbitMqTransport({
        url: settings.rabbitUrl,
        exchange: settings.exchange,
        connectionName: settings.replica,
        prefetch: 16,
      }),
    ),
  )
  .useEventLog(
    instrumented(
      prismaEventLog(prisma, {
        provider: 'postgresql',
        databaseName: settings.databaseName,
        notify: { connectionString: settings.pgUrl },
        logger: silentLogger,
      }),
    ),
  )
  .useLock(observed(lock))
  .configure({
    distributedLockTtl: settings.lockTtlMs,
    distributedLockWaitDuration: settings.lockWaitMs,
    relayShards: settings.relayShards,
    shardTenure: settings.shardTenureMs,
    pollingInterval: 200,
    batchSize: 50,
    // A record claimed by a killed relay is claimed again after this lease.
    minimumRetryInterval: 2_000,
    localFailedRetryInterval: 100,
    failedRetryInterval: 500,
  })
  .handle(
    Tick,
    async (event, ctx) => {
      if (event.run !== settings.run) return; // left over from an earlier, aborted run
      const tx = ctx.tx as PrismaClient;
      await tx.$executeRawUnsafe(
        'INSERT INTO lock_test_handled (event_id, n, replica, handled_at) VALUES ($1, $2, $3, $4)',
        ctx.envelope.id,
        event.n,
        settings.replica,
        Date.now(),
      );
      report({ type: 'handled', id: ctx.envelope.id, at: Date.now() });
    },
    { name: 'record-tick' },
  )
  .build();

bus.on('sent', (event) =>
  report({
    type: 'sent',
    id: event.messageId,
    bucket: bucketOf(event.message.orderingKey ?? event.message.id),
    at: Date.now(),
  }),
);
bus.on('duplicate', (event) => report({ type: 'duplicate', id: event.messageId, at: Date.now() }));
bus.on('error', (event) =>
  report({ type: 'error', where: event.where, error: String(event.error), at: Date.now() }),
);

let stopping = false;
process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'stop' || stopping) return;
  stopping = true;
  void (async () => {
    await bus.stop();
    await lock.close?.();
    await prisma.$disconnect();
    process.exit(0);
  })();
});
process.on('disconnect', () => process.exit(0)); // the parent died: do not linger

await bus.start();
report({ type: 'ready', at: Date.now() });
