import { AggregateRoot, ambientContext, createIntegrationEventBus, type HandlerContext } from '@herald/core';
import type { DemoTx, ProductCopy, ServiceEnvironment } from '@herald/demo-kit';
import { OrderPlaced, type ProductEto, ProductEvents, recordEffect, SmsRequested } from '@herald/demo-kit';
import { type EntityChange, EntitySynchronizer } from '@herald/entity-sync';
import { prismaEntityStore } from '@herald/entity-sync/prisma';
import { prismaEventLog } from '@herald/outbox-prisma';
import { createUnitOfWorkManager } from '@herald/uow';

/**
 * The order aggregate records its integration events (ABP's `AddDistributedEvent`); the unit of
 * work that saves it publishes them in its transaction — the save path has no publish call to forget.
 */
class Order extends AggregateRoot {
  private constructor(
    readonly id: string,
    readonly productId: string,
    readonly quantity: number,
    readonly total: number,
    readonly customer: string,
  ) {
    super();
  }

  static place(
    id: string,
    product: { id: string; price: number },
    quantity: number,
    customer: string,
    phone?: string,
  ): Order {
    const order = new Order(id, product.id, quantity, product.price * quantity, customer);
    order.addDistributedEvent(
      new OrderPlaced({ orderId: id, productId: product.id, quantity, total: order.total, customer }),
    );
    if (phone) order.addDistributedEvent(new SmsRequested({ orderId: id, phone }));
    return order;
  }
}

/**
 * Ordering keeps a local copy of catalog's products (entity synchronization) and places
 * orders at the copied price; the `Order` aggregate's events are published by the unit of work
 * that saves it, in the order's transaction, stamped with the caller's tenant.
 */
export function createOrdering(env: ServiceEnvironment) {
  const { prisma } = env;
  // Local copies are rows of ProductCopy; versions and tombstones go to the store's version ledger.
  const productCopies = prismaEntityStore<ProductCopy>(prisma, {
    provider: env.eventLogOptions.provider,
    model: 'ProductCopy',
  });

  const uow = createUnitOfWorkManager<DemoTx>({
    transaction: (work) => prisma.$transaction((tx) => work(tx as DemoTx)),
  });
  const bus = createIntegrationEventBus({ service: 'ordering', logger: env.logger })
    .useTransport(env.transport) // in-process, RabbitMQ, Kafka or Azure Service Bus (--transport)
    .publishes(OrderPlaced, SmsRequested) // its contract (herald contracts); the Order aggregate records them
    .useUnitOfWork(uow) // aggregates' events are published when the unit of work completes
    .useEventLog(prismaEventLog(prisma, env.eventLogOptions)) // outbox + inbox in ordering's own database
    .configure(env.options)
    .handle(
      [ProductEvents.Created, ProductEvents.Updated, ProductEvents.Deleted],
      new ProductSynchronizer({ events: ProductEvents, store: productCopies, handlerName: 'product-copies' }),
      { name: 'product-copies' },
    )
    .build();

  /** The repository: writes the row, knows nothing about events. */
  async function save(tx: DemoTx, order: Order): Promise<void> {
    const { id, productId, quantity, total, customer } = order;
    await tx.order.create({ data: { id, productId, quantity, total, customer } });
  }

  /**
   * Places an order at the local copy's price, for `tenant`. The aggregate records
   * `OrderPlaced` (and `SmsRequested` when a phone number is given); the unit of work publishes
   * them in the same transaction, with the tenant from the ambient context. Returns what
   * happened; placing an existing order again changes nothing (callers may retry).
   */
  async function placeOrder(
    orderId: string,
    productId: string,
    quantity: number,
    customer: string,
    phone?: string,
    tenant?: string,
  ): Promise<'placed' | 'exists' | 'unknown-product'> {
    return ambientContext.run({ tenantId: tenant ?? undefined }, () =>
      uow.run(async ({ tx }) => {
        if (await tx.order.findUnique({ where: { id: orderId } })) return 'exists';
        const product = await tx.productCopy.findUnique({ where: { id: productId } });
        if (!product) return 'unknown-product'; // never heard of, or discontinued
        await save(tx, Order.place(orderId, product, quantity, customer, phone ?? undefined));
        return 'placed';
      }),
    );
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
