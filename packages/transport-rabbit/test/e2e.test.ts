import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from './e2e/generated/client/client.js';
import { prepareOrderingAndBilling, Service, tearDown } from './e2e/harness.js';
import { requireRabbit, unique, waitUntil } from './helpers.js';

// PostgreSQL outbox (@herald/outbox-prisma) → RabbitMQ → inbox → handler, with the
// ordering and billing services in two separate processes and two databases.

const exchange = unique('herald-e2e');

const running: Service[] = [];
let orderingDb: PrismaClient;
let billingDb: PrismaClient;

beforeAll(async () => {
  await requireRabbit();
  ({ orderingDb, billingDb } = await prepareOrderingAndBilling('herald_rabbit_e2e'));
}, 60_000);

afterAll(() => tearDown(running, [orderingDb, billingDb], exchange));

function start(role: 'ordering' | 'billing', name: string): Service {
  const service = new Service({
    role,
    database: role === 'ordering' ? 'herald_rabbit_e2e_ordering' : 'herald_rabbit_e2e_billing',
    exchange,
    name,
  });
  running.push(service);
  return service;
}

async function charges(): Promise<Array<{ orderId: string; process: string }>> {
  return billingDb.charge.findMany({ select: { orderId: true, process: true }, orderBy: { seq: 'asc' } });
}

describe('PostgreSQL outbox → RabbitMQ → inbox → handler, in two processes', () => {
  it('charges every committed order exactly once, across a billing crash; rolled-back orders never leave', async () => {
    const billing1 = start('billing', 'billing-1');
    await billing1.waitFor('ready');
    const ordering = start('ordering', 'ordering');
    await ordering.waitFor('ready');

    const wave1 = Array.from({ length: 40 }, (_, i) => ({ id: `order-a${i}`, total: i }));
    ordering.send({
      type: 'place',
      orders: [
        ...wave1.slice(0, 20),
        { id: 'order-rolled-back', total: 1, rollback: true },
        ...wave1.slice(20),
      ],
    });
    await ordering.waitFor('placed');
    await waitUntil(
      async () => (await charges()).length >= 5,
      30_000,
      () => 'billing-1 handled nothing',
    );

    // Crash billing mid-stream: unacked deliveries go back to the queue; the inbox absorbs any repeat.
    billing1.child.kill('SIGKILL');
    await billing1.exited;
    const wave2 = Array.from({ length: 40 }, (_, i) => ({ id: `order-b${i}`, total: i }));
    ordering.reports.length = 0;
    ordering.send({ type: 'place', orders: wave2 });
    await ordering.waitFor('placed');

    const billing2 = start('billing', 'billing-2');
    await billing2.waitFor('ready');
    const expected = [...wave1, ...wave2].map((order) => order.id).sort();
    await waitUntil(
      async () => new Set((await charges()).map((charge) => charge.orderId)).size === expected.length,
      60_000,
      () => 'not every order was charged',
    );
    // Quiet period: a duplicate or the rolled-back order would show up now.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const rows = await charges();
    expect(rows.map((row) => row.orderId).sort()).toEqual(expected);
    expect(rows.some((row) => row.process === 'billing-2')).toBe(true);
    const outbox = await orderingDb.$queryRawUnsafe<Array<{ status: string; count: bigint }>>(
      'SELECT status, count(*) AS count FROM herald_outbox GROUP BY status',
    );
    expect(outbox.map((row) => ({ status: row.status, count: Number(row.count) }))).toEqual([
      { status: 'published', count: 80 },
    ]);
    expect(await orderingDb.order.count({ where: { id: 'order-rolled-back' } })).toBe(0);
    const inbox = await billingDb.$queryRawUnsafe<Array<{ status: string; count: bigint }>>(
      'SELECT status, count(*) AS count FROM herald_inbox GROUP BY status',
    );
    expect(inbox.map((row) => ({ status: row.status, count: Number(row.count) }))).toEqual([
      { status: 'processed', count: 80 },
    ]);

    expect(await ordering.stop()).toBe(0);
    expect(await billing2.stop()).toBe(0);
    expect([...ordering.errors(), ...billing2.errors()]).toEqual([]);
  }, 120_000);
});
