import {
  createIntegrationEventBus,
  type InProcessBroker,
  InProcessTransport,
  memoryEventLog,
  silentLogger,
} from '@herald/core';
import { ProductPriceChanged } from '../contracts.js';

/** The catalog service: owns products, publishes price changes through its outbox. */
export function createCatalog(broker: InProcessBroker) {
  const log = memoryEventLog();
  const bus = createIntegrationEventBus({ service: 'catalog', logger: silentLogger })
    .useTransport(new InProcessTransport({ broker }))
    .useEventLog(log)
    .configure({ pollingInterval: 200 })
    .build();

  const db = log.database;

  /** A business transaction: update the product and publish the change, atomically. */
  async function changePrice(productId: string, price: number): Promise<void> {
    await db.transaction(async (tx) => {
      const current = tx.get<{ price: number; version: number }>('products', productId);
      const version = (current?.version ?? 0) + 1;
      tx.put('products', productId, { price, version });
      await bus.publish(new ProductPriceChanged({ productId, price, version }), {
        tx,
        orderingKey: productId,
      });
    });
  }

  return { name: 'catalog', bus, db, outbox: log.outbox, changePrice };
}
