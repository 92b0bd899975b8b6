import { ambientContext, InProcessTransport } from '@herald/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from './generated/postgresql/client/client.js';
import {
  Buses,
  builder,
  type EngineHandle,
  eventually,
  InProcessBroker,
  OrderPlaced,
  openEngine,
  settled,
  unique,
} from './helpers.js';

// Database per tenant on real databases: two SQLite files, one per tenant, each with its outbox and
// inbox; a tenant's event is written to its own database and handled in its own database.
describe('database per tenant on SQLite', () => {
  let acme: EngineHandle;
  let globex: EngineHandle;
  const buses = new Buses();

  beforeAll(async () => {
    acme = await openEngine('sqlite');
    globex = await openEngine('sqlite');
  });
  afterAll(async () => {
    await acme?.close();
    await globex?.close();
  });
  afterEach(() => buses.stopAll());

  it('routes each tenant’s events and handlings to its own database', async () => {
    const broker = new InProcessBroker();
    const logs = { acme: acme.log(), globex: globex.log() };
    const sender = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog({ outbox: logs.acme.outbox }, { name: 'acme', tenants: ['acme'] })
      .useEventLog({ outbox: logs.globex.outbox }, { name: 'globex', tenants: ['globex'] })
      .build();
    const handled: string[] = [];
    const name = `bill-${unique()}`;
    const receiver = builder('billing', new InProcessTransport({ broker }))
      .useEventLog({ inbox: logs.acme.inbox }, { name: 'acme', tenants: ['acme'] })
      .useEventLog({ inbox: logs.globex.inbox }, { name: 'globex', tenants: ['globex'] })
      .handle(
        OrderPlaced,
        async (event, ctx) => {
          // The handler's transaction is its tenant's database: the row lands there.
          const tx = ctx.tx as Prisma.TransactionClient;
          await tx.testOrder.create({
            data: { id: event.orderId, note: ambientContext.current().tenantId ?? '' },
          });
          handled.push(event.orderId);
        },
        { name },
      )
      .build();
    await buses.start(receiver, sender);

    for (const tenant of ['acme', 'globex'] as const) {
      await ambientContext.run({ tenantId: tenant }, async () => {
        const db = tenant === 'acme' ? acme : globex;
        await db.prisma.$transaction(async (tx) => {
          await sender.publish(new OrderPlaced({ orderId: `${tenant}-1`, n: 1 }), { tx });
        });
      });
    }
    await expect(sender.publish(new OrderPlaced({ orderId: 'host-1', n: 1 }))).rejects.toThrow(
      /No outbox accepts event "test.order-placed"/,
    );

    await eventually(() => handled.length === 2);
    await settled(broker, [logs.acme.outbox, logs.globex.outbox]);
    const rows = async (db: EngineHandle) =>
      (await db.prisma.testOrder.findMany()).map((o) => `${o.id}:${o.note}`);
    expect(await rows(acme)).toEqual(['acme-1:acme']);
    expect(await rows(globex)).toEqual(['globex-1:globex']);
    const outboxTenants = async (db: EngineHandle) =>
      (await db.log().outbox.list({ limit: 10 })).map((r) => r.message.headers['herald-tenant-id']);
    expect(await outboxTenants(acme)).toEqual(['acme']);
    expect(await outboxTenants(globex)).toEqual(['globex']);
    expect((await logs.globex.inbox.list({ limit: 10 })).map((e) => e.status)).toEqual(['processed']);
  });
});
