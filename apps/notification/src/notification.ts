import { randomUUID } from 'node:crypto';
import { ambientContext, createIntegrationEventBus, type HandlerContext } from '@herald/core';
import type { DemoTx, ServiceEnvironment } from '@herald/demo-kit';
import { OrderPlaced, recordEffect, SmsRequested } from '@herald/demo-kit';
import { prismaEventLog } from '@herald/outbox-prisma';

/**
 * Notification mails every customer once per order. Its mail gateway times out now and then
 * (the handler is retried and the mail still goes out once); its SMS gateway is not set up at
 * all (every SMS request is retried, then dead-lettered with the reason).
 */
export function createNotification(env: ServiceEnvironment) {
  const { prisma } = env;

  const bus = createIntegrationEventBus({ service: 'notification', logger: env.logger })
    .useTransport(env.transport) // in-process, RabbitMQ, Kafka or Azure Service Bus (--transport)
    .useEventLog(prismaEventLog(prisma, env.eventLogOptions)) // outbox + inbox in notification's own database
    .configure(env.options)
    .handle(OrderPlaced, mailCustomer, { name: 'mail-customer' })
    .handle(SmsRequested, textCustomer, { name: 'text-customer' })
    .build();

  /**
   * Stores the mail, then "sends" it. For one order in five the gateway times out on the first
   * two attempts: the throw rolls the mail row back, a local retry fails too, and the
   * persistent retry (attempt 3) succeeds — one mail in the end.
   */
  async function mailCustomer(order: OrderPlaced, ctx: HandlerContext): Promise<void> {
    const tx = ctx.tx as DemoTx;
    await tx.mail.create({
      data: {
        id: randomUUID(),
        orderId: order.orderId,
        recipient: order.customer,
        // The handler runs in the event's tenant (stamped by ordering from its ambient context).
        subject: `[${ambientContext.current().tenantId ?? 'host'}] Order ${order.orderId}`,
      },
    });
    await recordEffect(ctx);
    if (flakyGateway(order.orderId) && ctx.attempt <= 2) throw new Error('mail gateway timed out');
  }

  /** Always fails: the demo's poison handler (retried, then dead-lettered). */
  async function textCustomer(_sms: SmsRequested, _ctx: HandlerContext): Promise<void> {
    throw new Error('SMS gateway: no account configured');
  }

  return { name: 'notification' as const, bus, operations: {} };
}

/** One order in five (by id) meets a timing-out mail gateway. */
export function flakyGateway(orderId: string): boolean {
  let hash = 0;
  for (const char of orderId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 5 === 0;
}
