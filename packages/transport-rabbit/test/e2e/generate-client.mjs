#!/usr/bin/env node
// Generates the Prisma client of the end-to-end test into test/e2e/generated: the two
// services' business tables (orders in the ordering database, charges in the billing
// database). Herald's own tables are reached with raw SQL by @herald/outbox-prisma and
// created by its migrate().
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrismaClient, schemaHeader } from '../../../../tooling/prisma/generate-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const schema = `${schemaHeader({ provider: 'postgresql', generatedBy: 'test/e2e/generate-client.mjs', partialIndexes: false })}
/// The ordering service's business table.
model Order {
  id    String @id
  total Int

  @@map("rabbit_e2e_order")
}

/// The billing service's business table: one row per handler run that committed.
model Charge {
  seq     BigInt @id @default(autoincrement())
  orderId String @map("order_id")
  eventId String @map("event_id")
  process String

  @@map("rabbit_e2e_charge")
}
`;

generatePrismaClient({
  from: import.meta.url,
  schema,
  dir: join(here, 'generated'),
  label: 'end-to-end test',
});
