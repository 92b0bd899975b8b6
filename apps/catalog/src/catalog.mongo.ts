import { createIntegrationEventBus, type HandlerContext } from '@herald/core';
import type { MongoServiceEnvironment } from '@herald/demo-kit';
import { insertOnce, OrderPlaced, ProductEvents, recordEffectOnce } from '@herald/demo-kit';
import { EntitySelectors } from '@herald/entity-sync';
import { mongoEntityEvents } from '@herald/entity-sync/mongodb';
import { mongoEventLog } from '@herald/outbox-mongo';

/**
 * Catalog on `--db mongodb` (catalog.ts is the SQL one): the same events and operations, on a
 * server without transactions (FerretDB). A product write and its entity event are two writes,
 * and units sold are counted with one document per order rather than `$inc`.
 */
export function createMongoCatalog(env: MongoServiceEnvironment) {
  const { client, db } = env;
  const products = db.collection<ProductDocument>('products');
  const sales = db.collection<SaleDocument>('sales');

  const bus = createIntegrationEventBus({ service: 'catalog', logger: env.logger })
    .useTransport(env.transport) // in-process, RabbitMQ, Kafka or Azure Service Bus (--transport)
    .publishes(ProductEvents.Created, ProductEvents.Updated, ProductEvents.Deleted) // its contract (herald contracts)
    .useEventLog(mongoEventLog(client, env.eventLogOptions)) // outbox + inbox in catalog's own database; transactions: 'off'
    .configure(env.options)
    .handle(OrderPlaced, countUnitsSold, { name: 'count-units-sold' })
    .build();

  // Writes to `products` → catalog.product.created / updated / deleted, with the document's
  // version. transactions: 'off': each event is published right after its write, on its own.
  const productEvents = mongoEntityEvents({
    bus,
    transactions: 'off',
    entityType: () => 'catalog.product',
    selectors: [EntitySelectors.model('catalog.product')],
    versioning: true, // inserts start at version 1, updates $inc it, deletes carry the next one
    mappings: {
      'catalog.product': {
        events: ProductEvents,
        keys: (product: ProductDocument) => ({ id: product._id }),
        toEto: (product: ProductDocument) => ({ id: product._id, name: product.name, price: product.price }),
        version: (product: ProductDocument) => product.version,
      },
    },
  });

  /**
   * Inbox, without a transaction: one `sales` document per order (`_id` = order id), so a
   * handler repeated after a crash cannot count an order twice. (`$inc` would not do: it is not
   * idempotent, and FerretDB 1.24 loses concurrent increments.) Units sold = the sum of sales.
   */
  async function countUnitsSold(order: OrderPlaced, ctx: HandlerContext): Promise<void> {
    await insertOnce(sales, { _id: order.orderId, productId: order.productId, quantity: order.quantity });
    await recordEffectOnce(db, ctx);
  }

  /** Adds a product (nothing happens when it exists: callers may retry). */
  async function createProduct(id: string, name: string, price: number): Promise<void> {
    if (await products.findOne({ _id: id })) return;
    await productEvents.insertOne(products, { _id: id, name, price, version: 1 });
  }

  /** Changes a price; the event is written right after the new price (not atomically). */
  async function changePrice(id: string, price: number): Promise<void> {
    const current = await products.findOne({ _id: id });
    if (!current || current.price === price) return;
    await productEvents.updateOne(products, { _id: id }, { $set: { price } });
  }

  /** Removes a product; the delete event carries the next version (a tombstone downstream). */
  async function discontinue(id: string): Promise<void> {
    await productEvents.deleteOne(products, { _id: id });
  }

  return { name: 'catalog' as const, bus, operations: { createProduct, changePrice, discontinue } };
}

/** A document of catalog's `products`. */
export interface ProductDocument {
  _id: string;
  name: string;
  price: number;
  version: number;
}

/** A document of catalog's `sales`: the units of one order. */
export interface SaleDocument {
  _id: string;
  productId: string;
  quantity: number;
}
