#!/usr/bin/env node
// Generates the Prisma clients the tests use, one per provider, into test/generated/<provider>.
// Each schema is the shipped fragment (prisma/<provider>.prisma) plus a business table, so the
// tests also prove that the fragment users paste is valid.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrismaClient, schemaHeader } from '../../../tooling/prisma/generate-client.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const businessModel = `
/// Business data of the tests (created by the tests, not by Herald's migrations).
model TestOrder {
  id   String @id
  note String

  @@map("test_orders")
}
`;

for (const provider of ['postgresql', 'mysql', 'sqlite']) {
  const fragment = readFileSync(join(root, 'prisma', `${provider}.prisma`), 'utf8');
  generatePrismaClient({
    from: import.meta.url,
    schema: `${schemaHeader({ provider, generatedBy: 'scripts/generate-test-clients.mjs' })}${businessModel}\n${fragment}`,
    dir: join(root, 'test', 'generated', provider),
    label: `${provider} test`,
  });
}
