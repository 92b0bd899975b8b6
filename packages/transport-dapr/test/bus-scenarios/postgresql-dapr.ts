/**
 * The bus scenario pair "Prisma PostgreSQL + Dapr (pubsub.redis)", as a module
 * whose default export child processes import (see `describeBusScenarios`).
 * Each suite run gets its own database, topic prefix and component files (one
 * per scenario consumer group: in Dapr a group is a component's `consumerID`).
 * Every bus replica, in the test process or in a child, gets a `daprd` of its
 * own, as each service process has its sidecar in production; a SIGKILLed child
 * leaves its sidecar behind like a crashed app container, and teardown ends it.
 * Redis is a private one with an append-only file, so the broker restart
 * scenario restarts it without touching the shared Redis.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { type BusPair, prismaPostgresStoreSide } from '@herald/testkit/bus-pair';
import { PrismaPg } from '@prisma/adapter-pg';
import type { DaprTransport } from '../../src/index.js';
import { daprTransport } from '../../src/index.js';
import { component, Sidecar, TestRedis, testLogger } from '../helpers.js';
import { publishForeign } from './foreign-publisher.js';
import { PrismaClient } from './generated/client/client.js';

/** More than the suite's scenarios: one component per possible case group. */
const MAX_CASES = 30;
const PUBLISH_COMPONENT = 'redis-pubsub';

/** The database side, shared with every Prisma PostgreSQL pair (testkit). */
const postgresql = prismaPostgresStoreSide({
  connect: (url) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) }),
  eventLog: (on, url) =>
    prismaEventLog(on, { logger: silentLogger, provider: 'postgresql', notify: { connectionString: url } }),
});

/** Component name of a consumer group (its `consumerID`). */
function groupComponent(group: string): string {
  return `redis-${group}`;
}

/** The publish component and one component per case group of the run, all on one Redis. */
function writeRunComponents(dir: string, runId: string, redisPort: number): void {
  const redis = (name: string, consumerID: string) =>
    component(name, 'pubsub.redis', {
      redisHost: `127.0.0.1:${redisPort}`,
      consumerID,
      // A message left unanswered (its consumer SIGKILLed, Redis restarted) comes back after this.
      processingTimeout: '3s',
      redeliverInterval: '1s',
      concurrency: '32',
    });
  writeFileSync(join(dir, `${PUBLISH_COMPONENT}.yaml`), redis(PUBLISH_COMPONENT, 'publisher'));
  for (let index = 1; index <= MAX_CASES; index++) {
    const group = `scenario-${runId}-c${String(index).padStart(2, '0')}`;
    writeFileSync(join(dir, `${groupComponent(group)}.yaml`), redis(groupComponent(group), group));
  }
}

/** What only the test process holds: the private Redis and the foreign publisher's sidecar. */
let redis: TestRedis | undefined;
let foreignSidecar: Sidecar | undefined;

/** Starts a sidecar for one bus and notes its pid, so teardown can end it if its process dies first. */
async function startSidecar(settings: Record<string, string>, replica: string): Promise<Sidecar> {
  const sidecar = new Sidecar(settings.components!, `${replica}-${randomUUID().slice(0, 8)}`);
  await sidecar.start();
  writeFileSync(join(settings.pids!, String(sidecar.pid)), '');
  return sidecar;
}

/** The transport, whose `stop()` also stops its sidecar. */
function withSidecar(
  transport: DaprTransport,
  sidecar: Sidecar,
  settings: Record<string, string>,
): DaprTransport {
  return new Proxy(transport, {
    get(target, property) {
      if (property === 'stop') {
        return async () => {
          try {
            await target.stop();
          } finally {
            const pid = sidecar.pid;
            await sidecar.stop();
            rmSync(join(settings.pids!, String(pid)), { force: true });
          }
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const pair: BusPair = {
  name: 'Prisma PostgreSQL + Dapr (pubsub.redis, Redis Streams)',
  features: {
    crashes: true,
    brokerRestart: true,
    // Redis Streams through Dapr deliver concurrently (component `concurrency`): no per-key order.
    orderedByKey: false,
    transactionalOutbox: true,
    transactionalInbox: true,
  },

  async setup(runId) {
    redis = new TestRedis();
    await redis.start();
    // daprd reads every file of its resources directory: the pid notes live beside it.
    const base = mkdtempSync(join(tmpdir(), 'herald-dapr-scenarios-'));
    const components = join(base, 'components');
    const pids = join(base, 'pids');
    mkdirSync(components);
    mkdirSync(pids);
    writeRunComponents(components, runId, redis.port);
    foreignSidecar = new Sidecar(components, `foreign-${runId}`);
    await foreignSidecar.start();

    return {
      ...(await postgresql.setup(runId)),
      base,
      components,
      pids,
      topicPrefix: `herald-scenarios-${runId}.`,
      foreignPort: String(foreignSidecar.grpcPort),
    };
  },

  async teardown(settings) {
    // Sidecars of SIGKILLed children: only the pids this suite started and noted.
    for (const pid of readdirSync(settings.pids!)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await foreignSidecar?.stop();
    await redis?.stop();
    rmSync(settings.base!, { recursive: true, force: true });
    await postgresql.teardown(settings);
  },

  createStore: (settings) => postgresql.createStore(settings),

  async createTransport(settings, replica) {
    const sidecar = await startSidecar(settings, replica);
    const transport = daprTransport({
      daprGrpcPort: sidecar.grpcPort,
      pubsubName: PUBLISH_COMPONENT,
      groupPubsubFor: groupComponent,
      topicPrefix: settings.topicPrefix!,
      startTimeoutMs: 20_000,
      subscribeTimeoutMs: 20_000,
      resubscribeDelayMs: 300,
      logger: testLogger,
    });
    return withSidecar(transport, sidecar, settings);
  },

  async foreignPublish(settings, message) {
    await publishForeign(
      Number(settings.foreignPort),
      PUBLISH_COMPONENT,
      `${settings.topicPrefix}${message.routeAs}`,
      message,
    );
  },

  restartBroker: () => redis!.restart(),
};

export default pair;
