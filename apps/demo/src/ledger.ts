import { prismaEntityStore } from '@herald/entity-sync/prisma';
import { prismaEventLog } from '@herald/outbox-prisma';
import { SERVICES, type ServiceName, SUBSCRIPTIONS } from './contracts.js';
import type { OpenDatabase, ProductCopy } from './database.js';

/**
 * What the services' databases prove at the end of a run. Nothing here comes from counters in
 * memory: every number is read from the rows the services committed.
 *
 * - `published`: healthy events committed (outbox records of every service, whatever their
 *   status), i.e. every event except the designated poison ones;
 * - `handled`: those that every subscriber handled — at least one effect row of that
 *   subscriber's handler for that message, in the subscriber's own database;
 * - `duplicates`: effect rows beyond one per (event, subscriber);
 * - `lost`: committed healthy events some subscriber has no effect for, plus poison events that
 *   are not in their subscriber's dead letters (so nobody would ever see them again).
 *
 * Poison events (`SmsRequested`: its handler always fails) are not in `published`/`handled`;
 * `deadLettered` counts those found dead in the subscriber's inbox with the failure recorded.
 */
export interface Ledger {
  published: number;
  handled: number;
  duplicates: number;
  lost: number;
  /** Poison events committed. */
  poison: number;
  /** Poison events found in their subscriber's dead letters (with no effect). */
  deadLettered: number;
  /** The dead letters' recorded reason and attempts (first one found). */
  deadLetterReason: string | undefined;
  deadLetterAttempts: number | undefined;
  /** Outbox records not yet published, over all services. */
  unpublished: number;
  /** Business checks across services (entity copies, units sold, mails); empty when all agree. */
  problems: string[];
  /** Summary of the business checks that passed. */
  facts: string[];
}

/** True when the run proved what the demo claims. */
export function ledgerOk(ledger: Ledger): boolean {
  return (
    ledger.duplicates === 0 &&
    ledger.lost === 0 &&
    ledger.handled === ledger.published &&
    ledger.deadLettered === ledger.poison &&
    ledger.unpublished === 0 &&
    ledger.problems.length === 0
  );
}

/** The closing line of `npm run demo`. */
export function ledgerLine(ledger: Ledger): string {
  return `demo ${ledgerOk(ledger) ? 'ok' : 'FAILED'}: published=${ledger.published} handled=${ledger.handled} duplicates=${ledger.duplicates} lost=${ledger.lost}`;
}

const ALL = 10_000_000;

/** Reads the ledger from the three services' databases. */
export async function readLedger(databases: Record<ServiceName, OpenDatabase>): Promise<Ledger> {
  const events = new Map<string, string>(); // message id → event name
  let unpublished = 0;
  const effects = new Map<string, number>(); // `${service}/${handler}/${messageId}` → rows
  const dead = new Map<string, { reason: string | null; attempts: number }>();
  for (const service of SERVICES) {
    const database = databases[service];
    const log = prismaEventLog(database.prisma, { provider: database.provider });
    for (const record of await log.outbox.list({ limit: ALL })) {
      events.set(record.message.id, record.message.name);
      if (record.status !== 'published') unpublished++;
    }
    for (const entry of await log.inbox.list({ status: 'dead', limit: ALL })) {
      dead.set(`${service}/${entry.handler}/${entry.messageId}`, {
        reason: entry.lastError,
        attempts: entry.attempts,
      });
    }
    const rows = await database.prisma.handlerEffect.groupBy({
      by: ['messageId', 'handler'],
      _count: { _all: true },
    });
    for (const row of rows) effects.set(`${service}/${row.handler}/${row.messageId}`, row._count._all);
  }

  const ledger: Ledger = {
    published: 0,
    handled: 0,
    duplicates: 0,
    lost: 0,
    poison: 0,
    deadLettered: 0,
    deadLetterReason: undefined,
    deadLetterAttempts: undefined,
    unpublished,
    problems: [],
    facts: [],
  };
  for (const [messageId, eventName] of events) {
    const subscriptions = SUBSCRIPTIONS[eventName] ?? [];
    const poison = subscriptions.some((subscription) => subscription.poison);
    let complete = true;
    for (const { service, handler } of subscriptions) {
      const key = `${service}/${handler}/${messageId}`;
      const count = effects.get(key) ?? 0;
      if (count > 1) ledger.duplicates += count - 1;
      if (poison) {
        const letter = dead.get(key);
        if (!letter || count > 0) complete = false;
        else {
          ledger.deadLetterReason ??= letter.reason ?? undefined;
          ledger.deadLetterAttempts ??= letter.attempts;
        }
      } else if (count === 0) complete = false;
    }
    if (poison) {
      ledger.poison++;
      if (complete) ledger.deadLettered++;
      else ledger.lost++;
    } else {
      ledger.published++;
      if (complete) ledger.handled++;
      else ledger.lost++;
    }
  }
  await businessChecks(databases, ledger);
  return ledger;
}

/** The services' business data agrees: copies match the catalog, units sold match orders, one mail per order. */
async function businessChecks(databases: Record<ServiceName, OpenDatabase>, ledger: Ledger): Promise<void> {
  const catalog = databases.catalog.prisma;
  const ordering = databases.ordering.prisma;
  const notification = databases.notification.prisma;

  const products = await catalog.product.findMany();
  // Ordering's copies as its EntitySynchronizer sees them: rows plus the version ledger.
  const copies = prismaEntityStore<ProductCopy>(ordering, {
    provider: databases.ordering.provider,
    model: 'ProductCopy',
  });
  let inSync = 0;
  for (const product of products) {
    const copy = await copies.get(product.id, undefined);
    if (copy?.entity?.price === product.price && Number(copy.version) === product.version && !copy.deleted)
      inSync++;
  }
  const known = new Set(products.map((product) => product.id));
  const extra = (await copies.keys(undefined)).filter((key) => !known.has(key)).length;
  const [{ n: tombstones = 0 } = {}] = await ordering.$queryRawUnsafe<{ n: number | bigint }[]>(
    'SELECT COUNT(*) AS n FROM herald_entity_versions WHERE deleted = true',
  );
  if (inSync !== products.length || extra > 0) {
    ledger.problems.push(
      `ordering's product copies: ${inSync}/${products.length} match catalog, ${extra} copies of unknown products`,
    );
  } else {
    ledger.facts.push(
      `ordering's copies match catalog's ${products.length} products (versions too; ${Number(tombstones)} tombstones)`,
    );
  }

  const orders = await ordering.order.findMany();
  const sold = new Map<string, number>();
  for (const order of orders) sold.set(order.productId, (sold.get(order.productId) ?? 0) + order.quantity);
  const wrong = products.filter((product) => product.unitsSold !== (sold.get(product.id) ?? 0));
  const units = orders.reduce((sum, order) => sum + order.quantity, 0);
  if (wrong.length > 0)
    ledger.problems.push(`catalog's units sold differ from ordering's orders for ${wrong.length} products`);
  else ledger.facts.push(`catalog counted ${units} units sold, as ordered`);

  const mails = await notification.mail.groupBy({ by: ['orderId'], _count: { _all: true } });
  const mailed = new Map(mails.map((row) => [row.orderId, row._count._all]));
  const unmailed = orders.filter((order) => (mailed.get(order.id) ?? 0) !== 1).length;
  if (unmailed > 0 || mailed.size !== orders.length)
    ledger.problems.push(`${unmailed} of ${orders.length} orders do not have exactly one mail`);
  else ledger.facts.push(`notification sent exactly one mail for each of the ${orders.length} orders`);
}
