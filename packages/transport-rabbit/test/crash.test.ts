import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from './e2e/generated/client/client.js';
import { prepareOrderingAndBilling, Service, tearDown } from './e2e/harness.js';
import { requireRabbit, unique, waitUntil } from './helpers.js';

// A billing process SIGKILLed between inbox commits and the broker acknowledgements:
// RabbitMQ redelivers what was not acked, and the PostgreSQL inbox absorbs what was committed.

const exchange = unique('herald-crash');
const ORDERS = 500;
const running: Service[] = [];
let orderingDb: PrismaClient;
let billingDb: PrismaClient;

beforeAll(async () => {
  await requireRabbit();
  ({ orderingDb, billingDb } = await prepareOrderingAndBilling('herald_rabbit_crash'));
}, 60_000);

afterAll(() => tearDown(running, [orderingDb, billingDb], exchange));

function start(role: 'ordering' | 'billing', name: string, crashAfterAcks?: number): Service {
  const service = new Service({
    role,
    database: role === 'ordering' ? 'herald_rabbit_crash_ordering' : 'herald_rabbit_crash_billing',
    exchange,
    name,
    ...(crashAfterAcks !== undefined ? { crashAfterAcks } : {}),
  });
  running.push(service);
  return service;
}

describe('crash between the inbox commit and the broker acknowledgement (PostgreSQL + RabbitMQ)', () => {
  it('SIGKILL mid-stream: redelivered messages are absorbed by the inbox; every event charged exactly once', async () => {
    const billing1 = start('billing', 'billing-1', 150);
    await billing1.waitFor('ready');
    const ordering = start('ordering', 'ordering');
    await ordering.waitFor('ready');
    const orders = Array.from({ length: ORDERS }, (_, i) => ({ id: `crash-${i}`, total: i }));
    ordering.send({ type: 'place', orders });

    // billing-1 kills itself after core decided its 150th ack, before the transport sent it.
    await billing1.exited;
    expect(billing1.child.signalCode).toBe('SIGKILL');
    const billing2 = start('billing', 'billing-2');
    await billing2.waitFor('ready');
    await ordering.waitFor('placed', 60_000);

    const chargedOrders = async () =>
      (
        await billingDb.$queryRawUnsafe<Array<{ n: bigint }>>(
          'SELECT count(DISTINCT order_id) AS n FROM rabbit_e2e_charge',
        )
      )[0]!.n;
    await waitUntil(
      async () => Number(await chargedOrders()) === ORDERS,
      40_000,
      () => 'not every order was charged',
    );
    // Quiet period: a late duplicate would show up now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const perEvent = await billingDb.$queryRawUnsafe<Array<{ event_id: string; n: bigint }>>(
      'SELECT event_id, count(*) AS n FROM rabbit_e2e_charge GROUP BY event_id',
    );
    expect(perEvent).toHaveLength(ORDERS);
    expect(
      perEvent.filter((row) => Number(row.n) !== 1),
      'events charged more than once',
    ).toEqual([]);
    const byProcess = await billingDb.$queryRawUnsafe<Array<{ process: string; n: bigint }>>(
      'SELECT process, count(*) AS n FROM rabbit_e2e_charge GROUP BY process ORDER BY process',
    );
    expect(byProcess.map((row) => row.process)).toEqual(['billing-1', 'billing-2']);
    expect(Number(byProcess[0]!.n)).toBeGreaterThanOrEqual(150);
    // At least the delivery whose ack died with billing-1 came again and was recognised.
    const duplicates = billing2.reports.filter((report) => report.type === 'duplicate');
    expect(duplicates.length).toBeGreaterThanOrEqual(1);
    const inbox = await billingDb.$queryRawUnsafe<Array<{ status: string; count: bigint }>>(
      'SELECT status, count(*) AS count FROM herald_inbox GROUP BY status',
    );
    expect(inbox.map((row) => ({ status: row.status, count: Number(row.count) }))).toEqual([
      { status: 'processed', count: ORDERS },
    ]);

    expect(await ordering.stop()).toBe(0);
    expect(await billing2.stop()).toBe(0);
    expect([...ordering.errors(), ...billing2.errors()]).toEqual([]);
  }, 120_000);
});
