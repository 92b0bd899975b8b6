#!/usr/bin/env node
// Generates the Prisma clients of this package's bus-scenario pairs (PostgreSQL) into
// test/bus-scenarios/generated (see tooling/prisma/generate-client.mjs).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateScenarioClients } from '../../../../tooling/prisma/generate-client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

generateScenarioClients({
  from: import.meta.url,
  providers: ['postgresql'],
  dirFor: () => join(here, 'generated'),
  generatedBy: 'test/bus-scenarios/generate-client.mjs',
});
