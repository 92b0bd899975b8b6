import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import postgresql from './bus-scenarios/postgresql-rabbit.js';
import { requireRabbit } from './helpers.js';

// Herald's bus contract on Prisma PostgreSQL + RabbitMQ: every scenario of the testkit
// suite, the crash scenarios with replicas in child processes, the broker restart through
// tooling/services/rabbitmq.sh. MariaDB and SQLite: bus-scenarios-mariadb/-sqlite.test.ts.
beforeAll(requireRabbit);

describeBusScenarios({
  pair: postgresql,
  modulePath: new URL('./bus-scenarios/postgresql-rabbit.ts', import.meta.url),
});
