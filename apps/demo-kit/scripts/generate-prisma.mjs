#!/usr/bin/env node
// Generates the demo's Prisma client once per database engine into src/generated/<provider>
// (git-ignored, compiled with the rest of src): prisma/demo.prisma plus the generator and
// datasource blocks. Unchanged inputs are not generated again (tooling/prisma/generate-client.mjs).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrismaClient, schemaHeader } from '../../../tooling/prisma/generate-client.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const models = readFileSync(join(root, 'prisma', 'demo.prisma'), 'utf8');

for (const provider of ['sqlite', 'postgresql', 'mysql']) {
  generatePrismaClient({
    from: import.meta.url,
    schema: `${schemaHeader({ provider, generatedBy: 'apps/demo-kit/scripts/generate-prisma.mjs', partialIndexes: false })}\n${models}`,
    dir: join(root, 'src', 'generated', provider),
    label: `demo's ${provider}`,
  });
}
