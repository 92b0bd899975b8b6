/**
 * The bus scenario pair "Prisma SQLite + Kafka", as a module whose default
 * export child processes import. One database file per suite run, shared by
 * every process of the run (libSQL with a busy timeout); relays find records by
 * polling.
 */
import { silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { composeBusPair, prismaSqliteStoreSide } from '@herald/testkit/bus-pair';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaClient } from './generated/sqlite/client/client.js';
import { kafkaSide } from './kafka-side.js';

const sqlite = prismaSqliteStoreSide({
  connect: (file) =>
    new PrismaClient({ adapter: new PrismaLibSql({ url: `file:${file}`, timeout: 10_000 }) }),
  eventLog: (writer, reader) =>
    prismaEventLog(writer, { logger: silentLogger, provider: 'sqlite', readClient: reader }),
});

export default composeBusPair(sqlite, kafkaSide);
