#!/usr/bin/env node
// Generates the PostgreSQL Prisma client of the bus scenarios (test/bus-scenarios) into
// test/pg/generated. The scenarios reach every table with raw SQL (Herald's through
// @herald/outbox-prisma, the effect table directly), so the schema holds a placeholder model.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrismaClient, schemaHeader } from '../../../../tooling/prisma/generate-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const schema = `${schemaHeader({ provider: 'postgresql', generatedBy: 'test/pg/generate-client.mjs', partialIndexes: false })}
/// Placeholder: the scenarios use raw SQL only.
model ScenarioPlaceholder {
  id String @id

  @@map("herald_scenario_placeholder")
}
`;

generatePrismaClient({
  from: import.meta.url,
  schema,
  dir: join(here, 'generated'),
  label: 'bus-scenario PostgreSQL',
});
