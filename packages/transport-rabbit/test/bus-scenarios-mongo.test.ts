import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import pair from './bus-scenarios/mongo-rabbit.js';
import { requireRabbit } from './helpers.js';

// Herald's bus contract on MongoDB (FerretDB, transactions off) + RabbitMQ (see
// bus-scenarios.test.ts). The broker restart runs once, with PostgreSQL.
beforeAll(requireRabbit);

// FerretDB v1 (on PostgreSQL) answers a command in ~5–15 ms on the shared 2-core machine
// (PostgreSQL through Prisma: ~1 ms), and the outbox and inbox take several per event. Measured
// at load average ~6 once outbox-mongo asked one status at a time (see its status-filters.ts):
// two relays 3.5 s for 100 events, per-key order 2.1 s, poison 8.6 s (before: 15.6 s, 9.1 s,
// 8.5 s; one earlier run 51 s and >130 s). Twice the suite's bounds, and the poison scenario's
// retry interval, leave room for a busier machine without skipping any scenario.
const FERRETDB_SLOWDOWN = 2;

describeBusScenarios({
  pair: {
    ...pair,
    slowdown: FERRETDB_SLOWDOWN,
    features: { ...pair.features, brokerRestart: false },
  },
  modulePath: new URL('./bus-scenarios/mongo-rabbit.ts', import.meta.url),
});
