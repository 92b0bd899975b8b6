import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type ContractDocument, checkContracts, exportContracts, formatReport } from '@herald/contracts';
import { createIntegrationEventBus, defineEvent, silentLogger } from '@herald/core';
import {
  createTransport,
  ProductEvents,
  parseConfig,
  SERVICES,
  type ServiceName,
  SmsRequested,
  serviceEnvironment,
} from '@herald/demo-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createService } from '../src/services.js';

// Each service's committed contract: what other teams check their changes against.
const snapshotFile = (service: ServiceName) =>
  resolve(import.meta.dirname, '../contracts', `${service}.asyncapi.json`);
const dataDir = mkdtempSync(join(tmpdir(), 'herald-demo-contracts-'));
// Kafka names the channels (fixed namespace and run, so the topic names are stable); nothing connects.
const config = parseConfig(
  ['--transport', 'kafka', '--namespace', 'shop', '--run', 'live', '--data-dir', dataDir],
  {},
);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The contract of a service as its code builds it now (the real service, its SQLite client unopened by export). */
async function currentContract(service: ServiceName): Promise<ContractDocument> {
  const env = await serviceEnvironment(config, service);
  try {
    return await exportContracts(createService(service, env).bus, { version: '1.0.0' });
  } finally {
    await env.database.close();
  }
}

const snapshot = (service: ServiceName) =>
  JSON.parse(readFileSync(snapshotFile(service), 'utf8')) as ContractDocument;
const peersOf = (service: ServiceName) => SERVICES.filter((s) => s !== service).map(snapshot);

describe('demo contracts (herald contracts check, per service)', () => {
  for (const service of SERVICES) {
    it(`${service}: no breaking change against its snapshot and the other services' snapshots`, async () => {
      const current = await currentContract(service);
      if (process.env.HERALD_UPDATE_CONTRACTS)
        writeFileSync(snapshotFile(service), `${JSON.stringify(current, null, 2)}\n`);
      const report = checkContracts(current, snapshot(service), peersOf(service));
      expect(report.ok, formatReport(report)).toBe(true);
      // A compatible change still needs its snapshot committed, or the other services check against a stale one.
      expect(
        current,
        'contract changed: run HERALD_UPDATE_CONTRACTS=1 pnpm vitest run test/contracts.test.ts',
      ).toEqual(snapshot(service));
    });
  }

  it('a deliberately breaking change to OrderPlaced fails with the report shown in the README', async () => {
    // ordering renames `customer` to `customerEmail` and sends `quantity` as text.
    const OrderPlaced = defineEvent('ordering.order-placed', {
      schema: z.object({
        orderId: z.string(),
        productId: z.string(),
        quantity: z.string(),
        total: z.number().nonnegative(),
        customerEmail: z.string(),
      }),
    });
    const ordering = createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
      .useTransport(await createTransport(config, 'ordering', silentLogger))
      .publishes(OrderPlaced, SmsRequested)
      .handle([ProductEvents.Created, ProductEvents.Updated, ProductEvents.Deleted], () => {}, {
        name: 'product-copies',
      });
    const report = checkContracts(await exportContracts(ordering), snapshot('ordering'), peersOf('ordering'));
    expect(report.ok).toBe(false);
    const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
    expect(readme).toContain(formatReport(report));
  });
});
