#!/usr/bin/env node
// Generates the Prisma clients of this package's bus-scenario pairs (MariaDB, SQLite) into
// test/bus-scenarios/generated/<provider> (see tooling/prisma/generate-client.mjs).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateScenarioClients } from '../../../../tooling/prisma/generate-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

generateScenarioClients({
  from: import.meta.url,
  providers: ['mysql', 'sqlite'],
  dirFor: (provider) => join(here, 'generated', provider),
  generatedBy: 'test/bus-scenarios/generate-clients.mjs',
});
