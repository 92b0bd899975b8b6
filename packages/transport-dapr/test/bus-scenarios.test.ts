import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import pair from './bus-scenarios/postgresql-dapr.js';
import { requireDaprd } from './helpers.js';

// Herald's bus contract on Prisma PostgreSQL + Dapr (pubsub.redis on a private Redis): every
// scenario of the testkit suite, a daprd per bus replica, the crash scenarios with replicas
// (and their sidecars) in child processes, the broker restart on the private Redis.
beforeAll(requireDaprd);

describeBusScenarios({ pair, modulePath: new URL('./bus-scenarios/postgresql-dapr.ts', import.meta.url) });
