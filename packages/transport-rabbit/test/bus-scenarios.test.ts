import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import mariadb from './bus-scenarios/mariadb-rabbit.js';
import postgresql from './bus-scenarios/postgresql-rabbit.js';
import { requireRabbit } from './helpers.js';

// Herald's bus contract on RabbitMQ with each Prisma database: every scenario of the
// testkit suite, the crash scenarios with replicas in child processes. The broker
// restart runs once (with PostgreSQL): it is about the transport, and it takes ~20 s.
beforeAll(requireRabbit);

describeBusScenarios({
  pair: postgresql,
  modulePath: new URL('./bus-scenarios/postgresql-rabbit.ts', import.meta.url),
});
describeBusScenarios({
  pair: { ...mariadb, features: { ...mariadb.features, brokerRestart: false } },
  modulePath: new URL('./bus-scenarios/mariadb-rabbit.ts', import.meta.url),
});
