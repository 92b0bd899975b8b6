import { createIntegrationEventBus, type HandlerContext } from '@herald/core';
import { type EntityChange, EntitySynchronizer } from '@herald/entity-sync';
import { prismaEntityStore } from '@herald/entity-sync/prisma';
import { prismaEventLog } from '@herald/outbox-prisma';
import type { ServiceEnvironment } from '../config.js';
import { OrderPlaced, type ProductEto, ProductEvents, SmsRequested } from '../contracts.js';
import type { ProductCopy } from '../database.js';
import { recordEffect } from '../effects.js';

/**
 * Ordering keeps a local copy of catalog's products (entity synchronization) and places
 * orders at the copied price, publishing `OrderPlaced` in the order's transaction.
 */
export function createOrdering(env: ServiceEnvironment) {
  const { prisma } = env;
  // Local copies are rows of ProductCopy; versions and tombstones go to the store's version ledger.
  const productCopies = prismaEntityStore<ProductCopy>(prisma, {
    provider: env.eventLogOptions.provider,
    model: 'ProductCopy',
  });

  const bus = createIntegrationEventBus({ service: 'ordering', logger: env.logger })
    .useTransport(env.transport) // in-process, RabbitMQ, Kafka or Azure Service Bus (--transport)
    .useEventLog(prismaEventLog(prisma, env.eventLogOptions)) // outbox + inbox in ordering's own database
    .configure(env.options)
    .handle(
      [ProductEvents.Created, ProductEvents.Updated, ProductEvents.Deleted],
      new ProductSynchronizer({ events: ProductEvents, store: productCopies, handlerName: 'product-copies' }),
      { name: 'product-copies' },
    )
    .build();

  /**
   * Places an order at the local copy's price. Publishes `OrderPlaced` (and `SmsRequested`
   * when a phone number is given) in the same transaction. Returns what happened; placing an
   * existing order again changes nothing (callers may retry).
   */
  async function placeOrder(
    orderId: string,
    productId: string,
    quantity: number,
    customer: string,
    phone?: string,
  ): Promise<'placed' | 'exists' | 'unknown-product'> {
    return prisma.$transaction(async (tx) => {
      if (await tx.order.findUnique({ where: { id: orderId } })) return 'exists';
      const product = await tx.productCopy.findUnique({ where: { id: productId } });
      if (!product) return 'unknown-product'; // never heard of, or discontinued
      const total = product.price * quantity;
      await tx.order.create({ data: { id: orderId, productId, quantity, total, customer } });
      await bus.publish(new OrderPlaced({ orderId, productId, quantity, total, customer }), { tx });
      if (phone) await bus.publish(new SmsRequested({ orderId, phone }), { tx });
      return 'placed';
    });
  }

  /** How many catalog products ordering knows (live copies). */
  async function knownProducts(): Promise<number> {
    return prisma.productCopy.count();
  }

  return { name: 'ordering' as const, bus, operations: { placeOrder, knownProducts } };
}

/**
 * ABP's EntitySynchronizer: applies created/updated/deleted events to the local copies,
 * ignoring any event whose version is not newer. It also records its effect for the ledger.
 */
class ProductSynchronizer extends EntitySynchronizer<ProductCopy, ProductEto> {
  protected override mapToEntity(eto: ProductEto): ProductCopy {
    return { id: eto.id, name: eto.name, price: eto.price };
  }

  override async handle(change: EntityChange<ProductEto>, ctx: HandlerContext): Promise<void> {
    await super.handle(change, ctx);
    await recordEffect(ctx);
  }
}
