import { createIntegrationEventBus, type HandlerContext } from '@herald/core';
import type { MongoServiceEnvironment } from '@herald/demo-kit';
import { insertOnce, OrderPlaced, recordEffectOnce, SmsRequested } from '@herald/demo-kit';
import { mongoEventLog } from '@herald/outbox-mongo';
import { flakyGateway } from './notification.js';

/**
 * Notification on `--db mongodb` (notification.ts is the SQL one): the same handlers, on a
 * server without transactions (FerretDB), so a failed attempt's writes are not rolled back.
 */
export function createMongoNotification(env: MongoServiceEnvironment) {
  const { client, db } = env;
  const mails = db.collection<MailDocument>('mails');

  const bus = createIntegrationEventBus({ service: 'notification', logger: env.logger })
    .useTransport(env.transport) // in-process, RabbitMQ, Kafka or Azure Service Bus (--transport)
    .useEventLog(mongoEventLog(client, env.eventLogOptions)) // outbox + inbox in notification's own database; transactions: 'off'
    .configure(env.options)
    .handle(OrderPlaced, mailCustomer, { name: 'mail-customer' })
    .handle(SmsRequested, textCustomer, { name: 'text-customer' })
    .build();

  /**
   * Stores the mail, then "sends" it. For one order in five the gateway times out on the first
   * two attempts. Nothing rolls the stored mail back: its `_id` is the order id, so the retry
   * finds it instead of storing a second one. The effect is recorded once the gateway succeeded.
   */
  async function mailCustomer(order: OrderPlaced, ctx: HandlerContext): Promise<void> {
    await insertOnce(mails, {
      _id: order.orderId,
      recipient: order.customer,
      subject: `Order ${order.orderId}`,
    });
    if (flakyGateway(order.orderId) && ctx.attempt <= 2) throw new Error('mail gateway timed out');
    await recordEffectOnce(db, ctx);
  }

  /** Always fails: the demo's poison handler (retried, then dead-lettered). */
  async function textCustomer(_sms: SmsRequested, _ctx: HandlerContext): Promise<void> {
    throw new Error('SMS gateway: no account configured');
  }

  return { name: 'notification' as const, bus, operations: {} };
}

/** A document of notification's `mails` (one per order: `_id` is the order id). */
export interface MailDocument {
  _id: string;
  recipient: string;
  subject: string;
}
