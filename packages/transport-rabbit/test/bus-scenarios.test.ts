import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import pair from './bus-scenarios/postgresql-rabbit.js';
import { requireRabbit } from './helpers.js';

// Herald's bus contract on Prisma PostgreSQL + RabbitMQ: every scenario of the
// testkit suite, the crash scenarios with replicas in child processes.
beforeAll(requireRabbit);

describeBusScenarios({ pair, modulePath: new URL('./bus-scenarios/postgresql-rabbit.ts', import.meta.url) });
