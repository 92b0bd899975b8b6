import {
  createIntegrationEventBus,
  type InProcessBroker,
  InProcessTransport,
  type MemoryTransaction,
  memoryEventLog,
  silentLogger,
} from '@herald/core';
import { OrderPlaced, ProductPriceChanged } from '../contracts.js';
import { recordEffect } from '../effects.js';

/** The ordering service: keeps a local copy of prices, places orders. */
export function createOrdering(broker: InProcessBroker) {
  const log = memoryEventLog();
  const bus = createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .configure({ pollingInterval: 200 })
    .handle(ProductPriceChanged, async (event, ctx) => {
      const tx = ctx.tx as MemoryTransaction;
      const local = tx.get<{ version: number }>('prices', event.productId);
      // Newer copy already applied: an older event must not regress it.
      if (!local || local.version < event.version) {
        tx.put('prices', event.productId, { price: event.price, version: event.version });
      }
      recordEffect(tx, ctx.envelope.id);
    })
    .build();

  const db = log.database;

  /** A business transaction: store the order and publish OrderPlaced, atomically. */
  async function placeOrder(orderId: string, productId: string, quantity: number): Promise<void> {
    await db.transaction(async (tx) => {
      const price = tx.get<{ price: number }>('prices', productId)?.price ?? 0;
      const total = price * quantity;
      tx.put('orders', orderId, { productId, quantity, total });
      await bus.publish(new OrderPlaced({ orderId, productId, quantity, total }), { tx });
    });
  }

  return { name: 'ordering', bus, db, outbox: log.outbox, placeOrder };
}
