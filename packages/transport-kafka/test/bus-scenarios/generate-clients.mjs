#!/usr/bin/env node
// Generates the Prisma clients of the bus-scenario pairs (PostgreSQL, MariaDB, SQLite) into
// test/bus-scenarios/generated/<provider>. The scenarios reach every table with raw SQL
// (Herald's through @herald/outbox-prisma, the effect table directly), so the schema holds
// only a placeholder model.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrismaClient, schemaHeader } from '../../../../tooling/prisma/generate-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

for (const provider of ['postgresql', 'mysql', 'sqlite']) {
  const schema = `${schemaHeader({ provider, generatedBy: 'test/bus-scenarios/generate-clients.mjs', partialIndexes: false })}
/// Placeholder: the scenarios use raw SQL only.
model ScenarioPlaceholder {
  id String @id

  @@map("herald_scenario_placeholder")
}
`;
  generatePrismaClient({
    from: import.meta.url,
    schema,
    dir: join(here, 'generated', provider),
    label: `bus-scenario ${provider}`,
  });
}
