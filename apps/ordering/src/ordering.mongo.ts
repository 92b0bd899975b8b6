import { createHash } from 'node:crypto';
import { ambientContext, createIntegrationEventBus, type HandlerContext } from '@herald/core';
import type { MongoServiceEnvironment, ProductCopy } from '@herald/demo-kit';
import {
  insertOnce,
  OrderPlaced,
  type ProductEto,
  ProductEvents,
  recordEffectOnce,
  SmsRequested,
} from '@herald/demo-kit';
import { type EntityChange, EntitySynchronizer, type EntitySynchronizerOptions } from '@herald/entity-sync';
import { mongoEntityStore } from '@herald/entity-sync/mongodb';
import { mongoEventLog } from '@herald/outbox-mongo';
import type { Db } from 'mongodb';

/**
 * Ordering on `--db mongodb` (ordering.ts is the SQL one): local copies in `product_copies`
 * (`mongoEntityStore`), orders in `orders`. Without transactions an order and its events are
 * separate writes; the events' ids are derived from the order id, so placing the order again
 * after a crash publishes whatever is missing, never a second copy.
 */
export function createMongoOrdering(env: MongoServiceEnvironment) {
  const { client, db } = env;
  const orders = db.collection<OrderDocument>('orders');
  // One document per product: { _id: key, entity, version, deleted, appliedAt } (deletes keep a tombstone).
  const productCopies = mongoEntityStore<ProductCopy>(db.collection('product_copies'));

  const bus = createIntegrationEventBus({ service: 'ordering', logger: env.logger })
    .useTransport(env.transport) // in-process, RabbitMQ, Kafka or Azure Service Bus (--transport)
    .publishes(OrderPlaced, SmsRequested) // its contract (herald contracts)
    .useEventLog(mongoEventLog(client, env.eventLogOptions)) // outbox + inbox in ordering's own database; transactions: 'off'
    .configure(env.options)
    .handle(
      [ProductEvents.Created, ProductEvents.Updated, ProductEvents.Deleted],
      new MongoProductSynchronizer(db, {
        events: ProductEvents,
        store: productCopies,
        handlerName: 'product-copies',
      }),
      { name: 'product-copies' },
    )
    .build();

  /**
   * Places an order at the local copy's price, then publishes `OrderPlaced` (and
   * `SmsRequested` when a phone number is given) with ids derived from the order: publishing
   * them again is a no-op in the outbox. Placing an existing order again only publishes what
   * a crash may have left unpublished (callers may retry).
   */
  async function placeOrder(
    orderId: string,
    productId: string,
    quantity: number,
    customer: string,
    phone?: string,
    tenant?: string,
  ): Promise<'placed' | 'exists' | 'unknown-product'> {
    // The events carry the caller's tenant (stamped from the ambient context).
    return ambientContext.run({ tenantId: tenant ?? undefined }, () =>
      place(orderId, productId, quantity, customer, phone),
    );
  }

  async function place(
    orderId: string,
    productId: string,
    quantity: number,
    customer: string,
    phone?: string,
  ): Promise<'placed' | 'exists' | 'unknown-product'> {
    let order = await orders.findOne({ _id: orderId });
    const exists = order !== null;
    if (!order) {
      const product = (await productCopies.get(productId, undefined))?.entity;
      if (!product) return 'unknown-product'; // never heard of, or discontinued
      const placed: OrderDocument = {
        _id: orderId,
        productId,
        quantity,
        total: product.price * quantity,
        customer,
      };
      if (phone) placed.phone = phone;
      order = (await insertOnce(orders, placed)) ? placed : await orders.findOne({ _id: orderId });
      if (!order) throw new Error(`order ${orderId} vanished`);
    }
    const { productId: product, quantity: units, total, customer: buyer } = order;
    await bus.publish(
      new OrderPlaced({ orderId, productId: product, quantity: units, total, customer: buyer }),
      { id: eventId(db, orderId, OrderPlaced.eventName) },
    );
    if (order.phone)
      await bus.publish(new SmsRequested({ orderId, phone: order.phone }), {
        id: eventId(db, orderId, SmsRequested.eventName),
      });
    return exists ? 'exists' : 'placed';
  }

  /** How many catalog products ordering knows (live copies). */
  async function knownProducts(): Promise<number> {
    return db.collection('product_copies').countDocuments({ deleted: false });
  }

  return { name: 'ordering' as const, bus, operations: { placeOrder, knownProducts } };
}

/** A document of ordering's `orders`. */
export interface OrderDocument {
  _id: string;
  productId: string;
  quantity: number;
  total: number;
  customer: string;
  phone?: string;
}

/** A UUID derived from (database, order, event name): the same order always gets the same event ids. */
function eventId(db: Db, orderId: string, eventName: string): string {
  const hex = createHash('sha256').update(`${db.databaseName}/${orderId}/${eventName}`).digest('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The EntitySynchronizer of ordering.ts on MongoDB: copies go to `mongoEntityStore` (no
 * transaction: the store's version check is a conditional upsert), effects are recorded once.
 */
class MongoProductSynchronizer extends EntitySynchronizer<ProductCopy, ProductEto> {
  readonly #db: Db;

  constructor(db: Db, options: EntitySynchronizerOptions<ProductCopy, ProductEto>) {
    super(options);
    this.#db = db;
  }

  protected override mapToEntity(eto: ProductEto): ProductCopy {
    return { id: eto.id, name: eto.name, price: eto.price };
  }

  override async handle(change: EntityChange<ProductEto>, ctx: HandlerContext): Promise<void> {
    await super.handle(change, ctx);
    await recordEffectOnce(this.#db, ctx);
  }
}
