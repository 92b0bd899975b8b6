import {
  createIntegrationEventBus,
  type InProcessBroker,
  InProcessTransport,
  type MemoryTransaction,
  memoryEventLog,
  silentLogger,
} from '@herald/core';
import { OrderPlaced } from '../contracts.js';
import { recordEffect } from '../effects.js';

/**
 * The notification service: "sends" a mail per order. Its mail gateway fails
 * now and then, so some handlings fail, are retried, and still happen once.
 */
export function createNotification(broker: InProcessBroker, options: { failEvery: number }) {
  const log = memoryEventLog();
  const failedOnce = new Set<string>();
  let calls = 0;
  const bus = createIntegrationEventBus({ service: 'notification', logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .configure({
      pollingInterval: 200,
      localFailedRetryInterval: 10,
      failedRetryInterval: 50,
      retryBackoff: () => 50,
    })
    .handle(OrderPlaced, async (event, ctx) => {
      const tx = ctx.tx as MemoryTransaction;
      tx.put('mails', event.orderId, { to: 'customer', subject: `Order ${event.orderId} confirmed` });
      recordEffect(tx, ctx.envelope.id);
      calls++;
      if (calls % options.failEvery === 0 && !failedOnce.has(event.orderId)) {
        failedOnce.add(event.orderId);
        throw new Error('mail gateway timed out'); // rolls back the mail and the effect
      }
    })
    .build();

  return { name: 'notification', bus, db: log.database, outbox: log.outbox };
}
