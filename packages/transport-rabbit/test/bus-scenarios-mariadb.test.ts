import { describeBusScenarios } from '@herald/testkit';
import { beforeAll } from 'vitest';
import pair from './bus-scenarios/mariadb-rabbit.js';
import { requireRabbit } from './helpers.js';

// Herald's bus contract on Prisma MariaDB + RabbitMQ (see bus-scenarios.test.ts). The broker
// restart runs once, with PostgreSQL: it is about the transport and takes ~20 s.
beforeAll(requireRabbit);

describeBusScenarios({
  pair: { ...pair, features: { ...pair.features, brokerRestart: false } },
  modulePath: new URL('./bus-scenarios/mariadb-rabbit.ts', import.meta.url),
});
