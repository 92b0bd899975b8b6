/**
 * The bus scenario pair "Prisma MariaDB + Kafka", as a module whose
 * default export child processes import. One database per suite run; MariaDB
 * has no LISTEN/NOTIFY, so relays of other processes find records by polling.
 */
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { composeBusPair, prismaMariadbStoreSide } from '@herald/testkit/bus-pair';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaClient } from './generated/mysql/client/client.js';
import { kafkaSide } from './kafka-side.js';

const mariadb = prismaMariadbStoreSide({
  connect: (url) => new PrismaClient({ adapter: new PrismaMariaDb(url) }),
  eventLog: (on) => prismaEventLog(on, { logger: silentLogger, provider: 'mysql' }),
});

export default composeBusPair(mariadb, kafkaSide);
