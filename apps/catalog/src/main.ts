#!/usr/bin/env node
// Catalog as its own process (a container's entry, or started by the demo's driver):
//   node dist/main.js --transport rabbitmq --db postgres   (flags: see @herald/demo-kit's USAGE)
import { runServiceProcess } from '@herald/demo-kit';
import { createCatalogService } from './index.js';

await runServiceProcess('catalog', createCatalogService);
