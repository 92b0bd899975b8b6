#!/usr/bin/env node
// Generates the Prisma client of the replica tests into test/replicas/generated: the
// outbox/inbox fragment of @herald/outbox-prisma plus the handlers' business table.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  generatePrismaClient,
  readFragment,
  schemaHeader,
} from '../../../../tooling/prisma/generate-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const schema = `${schemaHeader({ provider: 'postgresql', generatedBy: 'test/replicas/generate-client.mjs' })}
model LockTestHandled {
  seq       BigInt @id @default(autoincrement())
  eventId   String @map("event_id")
  n         Int
  replica   String
  handledAt BigInt @map("handled_at")

  @@map("lock_test_handled")
}

${readFragment(import.meta.url, '@herald/outbox-prisma', 'prisma/postgresql.prisma')}`;

generatePrismaClient({ from: import.meta.url, schema, dir: join(here, 'generated'), label: 'replica-test' });
