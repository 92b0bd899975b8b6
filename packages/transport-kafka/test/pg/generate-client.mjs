#!/usr/bin/env node
// Generates the Prisma client of the PostgreSQL crash test into test/pg/generated: the
// billing service's business table. Herald's own tables are reached with raw SQL by
// @herald/outbox-prisma and created by its migrate().
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrismaClient, schemaHeader } from '../../../../tooling/prisma/generate-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const schema = `${schemaHeader({ provider: 'postgresql', generatedBy: 'test/pg/generate-client.mjs', partialIndexes: false })}
/// One row per handler run that committed (written through ctx.tx, with the inbox entry).
model Effect {
  seq       BigInt @id @default(autoincrement())
  messageId String @map("message_id")
  process   String

  @@map("kafka_crash_effect")
}
`;

generatePrismaClient({
  from: import.meta.url,
  schema,
  dir: join(here, 'generated'),
  label: 'PostgreSQL crash test',
});
