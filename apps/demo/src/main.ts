import { InProcessBroker } from '@herald/core';
import { SUBSCRIBERS } from './contracts.js';
import { effectsOf } from './effects.js';
import { createCatalog } from './services/catalog.js';
import { createNotification } from './services/notification.js';
import { createOrdering } from './services/ordering.js';

/**
 * Runs catalog, ordering and notification in one process on the embedded
 * default (in-process transport, in-memory outbox/inbox), drives a workload,
 * then proves from the services' own databases that every committed event was
 * handled exactly once by each subscriber.
 */
export async function runDemo(options: { products?: number; orders?: number; quiet?: boolean } = {}) {
  const products = options.products ?? 20;
  const orders = options.orders ?? 100;
  const say = (line: string) => {
    if (!options.quiet) console.log(line);
  };
  const broker = new InProcessBroker();
  const catalog = createCatalog(broker);
  const ordering = createOrdering(broker);
  const notification = createNotification(broker, { failEvery: 10 });
  const services = [catalog, ordering, notification];

  let sent = 0;
  let received = 0;
  let failures = 0;
  for (const service of services) {
    service.bus.on('sent', () => sent++);
    service.bus.on('received', () => received++);
    service.bus.on('failed', () => failures++);
  }

  for (const service of services) await service.bus.start();
  say('› catalog, ordering and notification started (in-process transport, in-memory outbox/inbox)');

  for (let p = 0; p < products; p++) await catalog.changePrice(`product-${p}`, 10 + p);
  await catalog.bus.drain();
  await ordering.bus.drain();
  say(`› catalog changed ${products} prices; ordering keeps its local copy`);

  for (let o = 0; o < orders; o++)
    await ordering.placeOrder(`order-${o}`, `product-${o % products}`, 1 + (o % 3));
  for (let round = 0; round < 2; round++)
    for (const service of services) await service.bus.drain({ timeoutMs: 20_000 });
  say(
    `› ordering placed ${orders} orders; notification mailed customers (${failures} failed attempts were retried)`,
  );
  say(`› monitoring: sent=${sent} received=${received}`);

  for (const service of services) await service.bus.stop();

  // Committed events: every record the outboxes hold, whatever its status.
  const committed = new Map<string, string>();
  for (const service of services) {
    for (const record of await service.outbox.list({ limit: 1_000_000 }))
      committed.set(record.message.id, record.message.name);
  }
  const ledger = { published: committed.size, handled: 0, duplicates: 0, lost: 0 };
  const databases = new Map(services.map((service) => [service.name, service.db]));
  for (const [messageId, eventName] of committed) {
    let everywhereOnce = true;
    for (const subscriber of SUBSCRIBERS[eventName] ?? []) {
      const count = effectsOf(databases.get(subscriber)!).get(messageId) ?? 0;
      if (count === 0) everywhereOnce = false;
      if (count > 1) ledger.duplicates += count - 1;
    }
    if (everywhereOnce) ledger.handled++;
    else ledger.lost++;
  }
  return ledger;
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const ledger = await runDemo();
  const ok = ledger.duplicates === 0 && ledger.lost === 0 && ledger.handled === ledger.published;
  console.log(
    `demo ${ok ? 'ok' : 'FAILED'}: published=${ledger.published} handled=${ledger.handled} duplicates=${ledger.duplicates} lost=${ledger.lost}`,
  );
  process.exit(ok ? 0 : 1);
}
