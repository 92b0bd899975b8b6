import { createIntegrationEventBus, type HandlerContext } from '@herald/core';
import type { DemoTx, ServiceEnvironment } from '@herald/demo-kit';
import { OrderPlaced, ProductEvents, recordEffect } from '@herald/demo-kit';
import { EntityEventPublisher, EntitySelectors } from '@herald/entity-sync';
import { prismaEventLog } from '@herald/outbox-prisma';

/**
 * Catalog owns the products. Every product change publishes a `catalog.product.*` entity
 * event in the same transaction (outbox); it counts the units it sold from `OrderPlaced`.
 */
export function createCatalog(env: ServiceEnvironment) {
  const { prisma } = env;

  const bus = createIntegrationEventBus({ service: 'catalog', logger: env.logger })
    .useTransport(env.transport) // in-process, RabbitMQ, Kafka or Azure Service Bus (--transport)
    .publishes(ProductEvents.Created, ProductEvents.Updated, ProductEvents.Deleted) // its contract (herald contracts)
    .useEventLog(prismaEventLog(prisma, env.eventLogOptions)) // outbox + inbox in catalog's own database
    .configure(env.options)
    .handle(OrderPlaced, countUnitsSold, { name: 'count-units-sold' })
    .build();

  // Product rows → catalog.product.created / updated / deleted, with the row's version.
  const productEvents = new EntityEventPublisher(bus, {
    selectors: [EntitySelectors.model('catalog.product')],
    mappings: {
      'catalog.product': {
        events: ProductEvents,
        keys: (product: Product) => ({ id: product.id }),
        toEto: (product: Product) => ({ id: product.id, name: product.name, price: product.price }),
        version: (product: Product) => product.version,
      },
    },
  });

  /** Inbox: the increment commits with the inbox entry, so a redelivered order is not counted twice. */
  async function countUnitsSold(order: OrderPlaced, ctx: HandlerContext): Promise<void> {
    const tx = ctx.tx as DemoTx;
    await tx.product.updateMany({
      where: { id: order.productId },
      data: { unitsSold: { increment: order.quantity } },
    });
    await recordEffect(ctx);
  }

  /** Adds a product (nothing happens when it exists: callers may retry). */
  async function createProduct(id: string, name: string, price: number): Promise<void> {
    await prisma.$transaction(async (tx) => {
      if (await tx.product.findUnique({ where: { id } })) return;
      const product = await tx.product.create({ data: { id, name, price, unitsSold: 0, version: 1 } });
      await productEvents.publish([{ entityType: 'catalog.product', operation: 'created', row: product }], {
        tx,
      });
    });
  }

  /** Changes a price; the event commits with the new price or not at all. */
  async function changePrice(id: string, price: number): Promise<void> {
    await prisma.$transaction(async (tx) => {
      const current = await tx.product.findUnique({ where: { id } });
      if (!current || current.price === price) return;
      const product = await tx.product.update({ where: { id }, data: { price, version: { increment: 1 } } });
      await productEvents.publish([{ entityType: 'catalog.product', operation: 'updated', row: product }], {
        tx,
      });
    });
  }

  /** Removes a product; the delete event carries the next version (a tombstone downstream). */
  async function discontinue(id: string): Promise<void> {
    await prisma.$transaction(async (tx) => {
      const current = await tx.product.findUnique({ where: { id } });
      if (!current) return;
      await tx.product.delete({ where: { id } });
      const row = { ...current, version: current.version + 1 };
      await productEvents.publish([{ entityType: 'catalog.product', operation: 'deleted', row }], { tx });
    });
  }

  return { name: 'catalog' as const, bus, operations: { createProduct, changePrice, discontinue } };
}

interface Product {
  id: string;
  name: string;
  price: number;
  version: number;
}
