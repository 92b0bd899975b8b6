import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import pair from './bus-scenarios/sqlite-kafka.js';
import { requireBroker } from './helpers.js';

// Herald's bus contract on Prisma SQLite + Kafka (see bus-scenarios.test.ts): every scenario,
// the crash scenarios with replicas in child processes. The broker restart runs once per
// transport, on the PostgreSQL pair (bus-scenarios.test.ts); here it is skipped.
beforeAll(requireBroker);

describeBusScenarios({ pair, modulePath: new URL('./bus-scenarios/sqlite-kafka.ts', import.meta.url) });
