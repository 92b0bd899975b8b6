/**
 * One microservice of the end-to-end test, run as its own process by
 * e2e.test.ts (`node --import tsx`), each with its own PostgreSQL database:
 *
 * - ordering: creates orders and publishes OrderPlaced in the same Prisma
 *   transaction (outbox of @herald/outbox-prisma); its relay sends them
 *   through the RabbitMQ transport.
 * - billing: consumes OrderPlaced from RabbitMQ; the handler writes a charge
 *   row in the inbox's transaction (`ctx.tx`), so a redelivery is absorbed.
 *
 * Reports to the parent over IPC; `{ type: 'stop' }` stops the bus and exits 0.
 */
import { createIntegrationEventBus, silentLogger } from '@herald/core';
import { prismaEventLog } from '@herald/outbox-prisma';
import { PrismaPg } from '@prisma/adapter-pg';
import { rabbitMqTransport } from '../../src/index.js';
import { PrismaClient } from './generated/client/client.js';
import {
  BILLING_SERVICE,
  type Command,
  ORDERING_SERVICE,
  OrderPlaced,
  type Report,
  serviceSettings,
} from './shared.js';

const settings = serviceSettings(process.env);
const report = (message: Report) => process.send?.(message);

class Rollback extends Error {}

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: settings.databaseUrl }) });
const log = prismaEventLog(prisma, {
  provider: 'postgresql',
  databaseName: settings.role,
  notify: { connectionString: settings.databaseUrl },
  logger: silentLogger,
});
let builder = createIntegrationEventBus({
  service: settings.role === 'ordering' ? ORDERING_SERVICE : BILLING_SERVICE,
  logger: silentLogger,
})
  .useTransport(
    rabbitMqTransport({
      url: settings.rabbitUrl,
      exchange: settings.exchange,
      connectionName: settings.process,
    }),
  )
  .useEventLog(log)
  .configure({ pollingInterval: 200, localFailedRetryInterval: 100, handlerTimeout: 10_000 });
if (settings.role === 'billing') {
  builder = builder.handle(OrderPlaced, async (event, ctx) => {
    // The inbox's transaction: the charge and the inbox entry commit together.
    const tx = ctx.tx as Pick<PrismaClient, 'charge'>;
    await tx.charge.create({
      data: { orderId: event.orderId, eventId: ctx.envelope.id, process: settings.process },
    });
    report({ type: 'handled', orderId: event.orderId, eventId: ctx.envelope.id });
  });
}
const bus = builder.build();
bus.on('duplicate', (event) => report({ type: 'duplicate', eventId: event.messageId }));

async function place(orders: Array<{ id: string; total: number; rollback?: boolean }>): Promise<string[]> {
  const placed: string[] = [];
  for (const order of orders) {
    try {
      await prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { id: order.id, total: order.total } });
        await bus.publish(new OrderPlaced({ orderId: order.id, total: order.total }), {
          tx,
          orderingKey: order.id,
        });
        if (order.rollback) throw new Rollback('business rule failed after publishing');
      });
      placed.push(order.id);
    } catch (error) {
      if (!(error instanceof Rollback)) throw error;
    }
  }
  return placed;
}

process.on('message', (command: Command) => {
  if (command.type === 'place') {
    place(command.orders).then(
      (ids) => report({ type: 'placed', ids }),
      (error: unknown) => report({ type: 'error', message: String(error) }),
    );
  } else if (command.type === 'stop') {
    bus
      .stop()
      .then(() => prisma.$disconnect())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          report({ type: 'error', message: String(error) });
          process.exit(1);
        },
      );
  }
});

try {
  await log.migrate();
  await bus.start();
  report({ type: 'ready' });
} catch (error) {
  report({ type: 'error', message: `start failed: ${String(error)}` });
  process.exit(1);
}
