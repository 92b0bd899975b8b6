import type { ProductDocument, SaleDocument } from '@herald/demo-catalog';
import type {
  EffectDocument,
  MongoDatabase,
  OpenDatabase,
  PrismaDatabase,
  ProductCopy,
} from '@herald/demo-kit';
import { mongoEventLogOptions, SERVICES, type ServiceName, SUBSCRIPTIONS } from '@herald/demo-kit';
import type { MailDocument } from '@herald/demo-notification';
import type { OrderDocument } from '@herald/demo-ordering';
import type { LocalEntityStore } from '@herald/entity-sync';
import { mongoEntityStore } from '@herald/entity-sync/mongodb';
import { prismaEntityStore } from '@herald/entity-sync/prisma';
import { mongoEventLog } from '@herald/outbox-mongo';
import { prismaEventLog } from '@herald/outbox-prisma';

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
    const log = eventLogOf(database);
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
    for (const row of await effectCounts(database))
      effects.set(`${service}/${row.handler}/${row.messageId}`, row.count);
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

/** Herald's outbox and inbox of a service's database, for reading (one per database). */
const eventLogs = new WeakMap<
  OpenDatabase,
  ReturnType<typeof prismaEventLog> | ReturnType<typeof mongoEventLog>
>();
function eventLogOf(database: OpenDatabase) {
  let log = eventLogs.get(database);
  if (!log) {
    log =
      database.kind === 'mongodb'
        ? mongoEventLog(database.client, mongoEventLogOptions(database.name))
        : prismaEventLog(database.prisma, { provider: database.provider });
    eventLogs.set(database, log);
  }
  return log;
}

/** Effect rows (documents on MongoDB) per (message, handler). */
async function effectCounts(
  database: OpenDatabase,
): Promise<Array<{ messageId: string; handler: string; count: number }>> {
  if (database.kind === 'prisma') {
    const rows = await database.prisma.handlerEffect.groupBy({
      by: ['messageId', 'handler'],
      _count: { _all: true },
    });
    return rows.map((row) => ({ messageId: row.messageId, handler: row.handler, count: row._count._all }));
  }
  const documents = await database.db.collection<EffectDocument>('handler_effects').find().toArray();
  const counts = new Map<string, { messageId: string; handler: string; count: number }>();
  for (const { messageId, handler } of documents) {
    const key = JSON.stringify([messageId, handler]);
    const row = counts.get(key) ?? { messageId, handler, count: 0 };
    row.count++;
    counts.set(key, row);
  }
  return [...counts.values()];
}

/** The business data the checks compare, read from the three services' databases. */
interface BusinessData {
  products: Array<{ id: string; price: number; version: number; unitsSold: number }>;
  /** Ordering's copies as its EntitySynchronizer sees them (tombstones included). */
  copies: LocalEntityStore<ProductCopy>;
  tombstones: number;
  orders: Array<{ id: string; productId: string; quantity: number }>;
  /** Mails per order id. */
  mails: Map<string, number>;
  /** The tenant each mail's handler ran in, by order id (services that stamp tenants). */
  mailTenants?: Map<string, string>;
}

async function prismaBusinessData(
  catalog: PrismaDatabase,
  ordering: PrismaDatabase,
  notification: PrismaDatabase,
): Promise<BusinessData> {
  // Ordering's copies: rows plus the version ledger.
  const copies = prismaEntityStore<ProductCopy>(ordering.prisma, {
    provider: ordering.provider,
    model: 'ProductCopy',
  });
  const [{ n: tombstones = 0 } = {}] = await ordering.prisma.$queryRawUnsafe<{ n: number | bigint }[]>(
    'SELECT COUNT(*) AS n FROM herald_entity_versions WHERE deleted = true',
  );
  const mails = await notification.prisma.mail.groupBy({ by: ['orderId'], _count: { _all: true } });
  const subjects = await notification.prisma.mail.findMany({ select: { orderId: true, subject: true } });
  const mailTenants = new Map(
    subjects.map((mail) => [mail.orderId, /^\[([^\]]+)\]/.exec(mail.subject)?.[1] ?? 'none']),
  );
  return {
    mailTenants,
    products: await catalog.prisma.product.findMany(),
    copies,
    tombstones: Number(tombstones),
    orders: await ordering.prisma.order.findMany(),
    mails: new Map(mails.map((row) => [row.orderId, row._count._all])),
  };
}

async function mongoBusinessData(
  catalog: MongoDatabase,
  ordering: MongoDatabase,
  notification: MongoDatabase,
): Promise<BusinessData> {
  // Catalog's units sold: the sum of its `sales` documents (one per order).
  const unitsSold = new Map<string, number>();
  for (const sale of await catalog.db.collection<SaleDocument>('sales').find().toArray())
    unitsSold.set(sale.productId, (unitsSold.get(sale.productId) ?? 0) + sale.quantity);
  const products = await catalog.db.collection<ProductDocument>('products').find().toArray();
  const mails = new Map<string, number>();
  for (const mail of await notification.db.collection<MailDocument>('mails').find().toArray())
    mails.set(mail._id, (mails.get(mail._id) ?? 0) + 1);
  const orders = await ordering.db.collection<OrderDocument>('orders').find().toArray();
  return {
    products: products.map((product) => ({
      id: product._id,
      price: product.price,
      version: product.version,
      unitsSold: unitsSold.get(product._id) ?? 0,
    })),
    copies: mongoEntityStore<ProductCopy>(ordering.db.collection('product_copies')),
    tombstones: await ordering.db.collection('product_copies').countDocuments({ deleted: true }),
    orders: orders.map((order) => ({ id: order._id, productId: order.productId, quantity: order.quantity })),
    mails,
  };
}

/** The services' business data agrees: copies match the catalog, units sold match orders, one mail per order. */
async function businessChecks(databases: Record<ServiceName, OpenDatabase>, ledger: Ledger): Promise<void> {
  const { catalog, ordering, notification } = databases;
  const {
    products,
    copies,
    tombstones,
    orders,
    mails: mailed,
    mailTenants,
  } = catalog.kind === 'mongodb'
    ? await mongoBusinessData(catalog, ordering as MongoDatabase, notification as MongoDatabase)
    : await prismaBusinessData(catalog, ordering as PrismaDatabase, notification as PrismaDatabase);

  let inSync = 0;
  for (const product of products) {
    const copy = await copies.get(product.id, undefined);
    if (copy?.entity?.price === product.price && Number(copy.version) === product.version && !copy.deleted)
      inSync++;
  }
  const known = new Set(products.map((product) => product.id));
  const extra = (await copies.keys(undefined)).filter((key) => !known.has(key)).length;
  if (inSync !== products.length || extra > 0) {
    ledger.problems.push(
      `ordering's product copies: ${inSync}/${products.length} match catalog, ${extra} copies of unknown products`,
    );
  } else {
    ledger.facts.push(
      `ordering's copies match catalog's ${products.length} products (versions too; ${tombstones} tombstones)`,
    );
  }

  const sold = new Map<string, number>();
  for (const order of orders) sold.set(order.productId, (sold.get(order.productId) ?? 0) + order.quantity);
  const wrong = products.filter((product) => product.unitsSold !== (sold.get(product.id) ?? 0));
  const units = orders.reduce((sum, order) => sum + order.quantity, 0);
  if (wrong.length > 0)
    ledger.problems.push(`catalog's units sold differ from ordering's orders for ${wrong.length} products`);
  else ledger.facts.push(`catalog counted ${units} units sold, as ordered`);

  const unmailed = orders.filter((order) => (mailed.get(order.id) ?? 0) !== 1).length;
  if (unmailed > 0 || mailed.size !== orders.length)
    ledger.problems.push(`${unmailed} of ${orders.length} orders do not have exactly one mail`);
  else ledger.facts.push(`notification sent exactly one mail for each of the ${orders.length} orders`);

  if (mailTenants) {
    // The workload places even-numbered orders for tenant-a, odd ones for tenant-b.
    const expected = (orderId: string) => (Number(orderId.split('-')[1]) % 2 === 0 ? 'tenant-a' : 'tenant-b');
    const mismatched = [...mailTenants].filter(([orderId, tenant]) => tenant !== expected(orderId)).length;
    const perTenant = new Map<string, number>();
    for (const tenant of mailTenants.values()) perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
    const counts = [...perTenant]
      .sort()
      .map(([tenant, n]) => `${n} for ${tenant}`)
      .join(', ');
    if (mismatched > 0) ledger.problems.push(`${mismatched} mails ran in the wrong tenant (${counts})`);
    else ledger.facts.push(`every mail handler ran in its order's tenant (${counts})`);
  }
}
