/**
 * The bus scenario pair "Prisma PostgreSQL + Kafka", as a module whose
 * default export child processes import (see `describeBusScenarios`). Each
 * suite run gets its own database and topic prefix, so runs never share state.
 */
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { composeBusPair, prismaPostgresStoreSide } from '@herald/testkit/bus-pair';
import { PrismaPg } from '@prisma/adapter-pg';
import { restartBroker } from '../helpers.js';
import { PrismaClient } from './generated/postgresql/client/client.js';
import { kafkaSide } from './kafka-side.js';

const postgresql = prismaPostgresStoreSide({
  connect: (url) => new PrismaClient({ adapter: new PrismaPg({ connectionString: url }) }),
  eventLog: (on, url) =>
    prismaEventLog(on, { logger: silentLogger, provider: 'postgresql', notify: { connectionString: url } }),
});

// The broker restart runs on this pair only (~20 s for tooling/services/kafka.sh restart): once
// per transport is what the scenario proves; the MariaDB and SQLite pairs skip it.
export default composeBusPair(postgresql, {
  ...kafkaSide,
  features: { ...kafkaSide.features, brokerRestart: true },
  restartBroker,
});
