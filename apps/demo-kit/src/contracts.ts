import { defineEvent } from '@herald/core';
import { entityEvents } from '@herald/entity-sync';
import { z } from 'zod';

// The integration events the services exchange. In a real system these live in a small
// shared contracts package (or are copied: the event name is the contract).

/** What catalog tells the world about a product (the entity transfer object). */
export interface ProductEto {
  readonly id: string;
  readonly name: string;
  readonly price: number;
}

/** `catalog.product.created` / `.updated` / `.deleted`: published by catalog, synchronized by ordering. */
export const ProductEvents = entityEvents<ProductEto>('catalog.product');

/** Ordering accepted an order. */
export const OrderPlaced = defineEvent('ordering.order-placed', {
  schema: z.object({
    orderId: z.string(),
    productId: z.string(),
    quantity: z.number().int().positive(),
    total: z.number().nonnegative(),
    customer: z.string(),
  }),
});

export type OrderPlaced = InstanceType<typeof OrderPlaced>;

/**
 * A customer asked for a text message about their order. Notification's SMS gateway is not
 * set up, so its handler always fails: this is the demo's poison event, retried and then
 * dead-lettered on purpose.
 */
export const SmsRequested = defineEvent('ordering.sms-requested', {
  schema: z.object({ orderId: z.string(), phone: z.string() }),
});
export type SmsRequested = InstanceType<typeof SmsRequested>;

/** The three services, each with its own database. */
export const SERVICES = ['catalog', 'ordering', 'notification'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** One subscription: which handler of which service handles an event. */
export interface Subscription {
  readonly service: ServiceName;
  readonly handler: string;
  /** The handler never succeeds by design: its events end in the dead letters. */
  readonly poison?: boolean;
}

/** Who subscribes to what: the demo's ledger checks every committed event against this table. */
export const SUBSCRIPTIONS: Readonly<Record<string, readonly Subscription[]>> = {
  [ProductEvents.Created.eventName]: [{ service: 'ordering', handler: 'product-copies' }],
  [ProductEvents.Updated.eventName]: [{ service: 'ordering', handler: 'product-copies' }],
  [ProductEvents.Deleted.eventName]: [{ service: 'ordering', handler: 'product-copies' }],
  [OrderPlaced.eventName]: [
    { service: 'catalog', handler: 'count-units-sold' },
    { service: 'notification', handler: 'mail-customer' },
  ],
  [SmsRequested.eventName]: [{ service: 'notification', handler: 'text-customer', poison: true }],
};
