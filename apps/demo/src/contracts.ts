import { defineEvent } from '@herald/core';
import { z } from 'zod';

// The integration events the services exchange. In a real system these live
// in a small shared contracts package (or are copied: the name is the contract).

/** Catalog changed a product's price. */
export const ProductPriceChanged = defineEvent('catalog.product-price-changed', {
  schema: z.object({ productId: z.string(), price: z.number().nonnegative(), version: z.number().int() }),
});

/** Ordering accepted an order. */
export const OrderPlaced = defineEvent('ordering.order-placed', {
  schema: z.object({
    orderId: z.string(),
    productId: z.string(),
    quantity: z.number().int().positive(),
    total: z.number(),
  }),
});

/** Which services subscribe to which event: what the demo's ledger checks. */
export const SUBSCRIBERS: Record<string, string[]> = {
  'catalog.product-price-changed': ['ordering'],
  'ordering.order-placed': ['notification'],
};
