import { sleep } from '@herald/core';
import type { DemoConfig, ServiceName } from '@herald/demo-kit';

/** Runs a business operation in a service (directly in one process, over IPC otherwise). */
export type Call = (service: ServiceName, op: string, args?: unknown[]) => Promise<unknown>;

/**
 * The scripted workload, the same on every transport and database:
 * 1. catalog creates the products and changes every price once (entity events);
 * 2. once ordering's copies know every product, ordering places the orders at the copied
 *    price, a few at a time; every `smsEvery`-th order also asks for a text message (poison);
 * 3. halfway, catalog discontinues the two products nobody orders (deleted events).
 * `afterOrder(n)` runs once the n-th order is on its way, before its answer is awaited (the
 * driver kills a service there, so the kill lands among calls, commits and deliveries in flight).
 */
export async function runWorkload(
  config: DemoConfig,
  call: Call,
  say: (line: string) => void,
  afterOrder: (sent: number) => Promise<void> = async () => {},
): Promise<void> {
  const product = (p: number) => `product-${p}`;
  for (let p = 0; p < config.products; p++)
    await call('catalog', 'createProduct', [product(p), `Product ${p}`, 10 + p]);
  for (let p = 0; p < config.products; p++) await call('catalog', 'changePrice', [product(p), 10.5 + p]);
  say(`› catalog created ${config.products} products and changed every price (entity events, outbox)`);

  const deadline = Date.now() + config.settleTimeoutMs;
  while ((await call('ordering', 'knownProducts')) !== config.products) {
    if (Date.now() > deadline)
      throw new Error(`ordering did not learn all ${config.products} products in time`);
    await sleep(50);
  }
  say(`› ordering's EntitySynchronizer copied all ${config.products} products into its own database`);

  const orderable = config.products - 2; // the last two are discontinued halfway
  const parallel = 4;
  let placed = 0;
  for (let first = 0; first < config.orders; first += parallel) {
    const batch = [];
    for (let o = first; o < Math.min(first + parallel, config.orders); o++) {
      const phone =
        o % config.smsEvery === config.smsEvery - 1 ? `+1555${String(o).padStart(7, '0')}` : undefined;
      const args = [
        `order-${o}`,
        product(o % orderable),
        1 + (o % 3),
        `customer-${o % 17}@example.com`,
        phone,
        o % 2 === 0 ? 'tenant-a' : 'tenant-b', // two tenants: each event carries its tenant to the handlers
      ];
      batch.push(
        call('ordering', 'placeOrder', args).then((result) => {
          if (result === 'unknown-product') throw new Error(`ordering rejected order-${o}: unknown product`);
        }),
      );
    }
    // While these orders are in flight (a kill lands in the middle of them):
    for (let n = placed + 1; n <= placed + batch.length; n++) await afterOrder(n);
    await Promise.all(batch);
    placed += batch.length;
    if (first < config.orders / 2 && first + parallel >= config.orders / 2) {
      await call('catalog', 'discontinue', [product(config.products - 1)]);
      await call('catalog', 'discontinue', [product(config.products - 2)]);
    }
  }
  const sms = Math.floor(config.orders / config.smsEvery);
  say(
    `› ordering placed ${config.orders} orders for 2 tenants (${sms} asked for an SMS); catalog discontinued 2 products meanwhile`,
  );
}
