#!/usr/bin/env node
// Generates the benchmark's Prisma client into bench/generated: the business tables of the
// producer workloads plus the outbox/inbox fragment of @herald/outbox-prisma.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrismaClient, readFragment, schemaHeader } from '../../tooling/prisma/generate-client.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const schema = `${schemaHeader({ provider: 'postgresql', generatedBy: 'bench/scripts/generate-client.mjs', importFileExtension: 'ts' })}
model BenchAccount {
  id      Int    @id
  balance BigInt

  @@map("bench_accounts")
}

model BenchOrder {
  id        String @id @db.VarChar(36)
  accountId Int    @map("account_id")
  amount    BigInt

  @@map("bench_orders")
}

${readFragment(import.meta.url, '@herald/outbox-prisma', 'prisma/postgresql.prisma')}`;

generatePrismaClient({ from: import.meta.url, schema, dir: join(root, 'generated'), label: 'bench' });
