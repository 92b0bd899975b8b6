import {
  type ClaimRequest,
  ConfigurationError,
  InProcessTransport,
  MalformedMessageError,
  MemoryLock,
  type OutboxStore,
  type PublishOutcome,
  StaleFencingTokenError,
  type WireMessage,
} from '@herald/core';
import { createUnitOfWorkManager } from '@herald/uow';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../src/index.js';
import type { Prisma } from './generated/postgresql/client/client.js';
import {
  Buses,
  builder,
  CountingTransport,
  ENGINE_NAMES,
  type EngineHandle,
  eventually,
  InProcessBroker,
  OrderPlaced,
  openEngine,
  PaymentTaken,
  PROVIDERS,
  settled,
  unique,
} from './helpers.js';

// The data path through a real bus (core's default in-process transport on an isolated broker)
// with the outbox and the inbox in a real database, on each engine.
describe.each(PROVIDERS)('end to end on %s', (provider) => {
  let db: EngineHandle;
  const buses = new Buses();

  beforeAll(async () => {
    db = await openEngine(provider);
  });
  afterAll(() => db?.close());
  beforeEach(() => db.reset());
  afterEach(() => buses.stopAll());

  /** A receiving service whose inbox is in the database too; records what its handler saw. */
  function receiver(broker: InProcessBroker, configure?: (b: ReturnType<typeof builder>) => void) {
    const handled: string[] = [];
    const duplicates: string[] = [];
    const b = builder('billing', new InProcessTransport({ broker }))
      .useEventLog({ inbox: db.log({}, db.peer()).inbox })
      .handle(OrderPlaced, async (event) => void handled.push(event.orderId), { name: `bill-${unique()}` });
    configure?.(b);
    const bus = b.build();
    bus.on('duplicate', (event) => void duplicates.push(event.messageId));
    return { bus, handled, duplicates };
  }

  it(`${ENGINE_NAMES[provider]}: a rolled-back business transaction leaves no event; a committed one is delivered`, async () => {
    const broker = new InProcessBroker();
    const log = db.log();
    const sender = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog({ outbox: log.outbox })
      .build();
    const { bus: billing, handled } = receiver(broker);
    await buses.start(billing, sender);

    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.testOrder.create({ data: { id: 'o-rolled-back', note: 'never committed' } });
        await sender.publish(new OrderPlaced({ orderId: 'o-rolled-back', n: 1 }), { tx });
        throw new Error('business rule violated');
      }),
    ).rejects.toThrow('business rule violated');
    await db.prisma.$transaction(async (tx) => {
      await tx.testOrder.create({ data: { id: 'o-committed', note: 'committed' } });
      await sender.publish(new OrderPlaced({ orderId: 'o-committed', n: 2 }), { tx });
    });

    await eventually(() => handled.length === 1);
    await settled(broker, [log.outbox]);
    expect(handled).toEqual(['o-committed']);
    expect((await db.prisma.testOrder.findMany()).map((o) => o.id)).toEqual(['o-committed']);
    const records = await log.outbox.list({ limit: 100 });
    expect(records.map((r) => r.status)).toEqual(['published']);
  });

  it(`${ENGINE_NAMES[provider]}: a relay killed between send and mark is followed by a redelivery the inbox absorbs`, async () => {
    const broker = new InProcessBroker();
    const sent: string[] = [];
    // The first relay "dies" after the broker confirmed the message and before marking it published.
    const log = db.log();
    const dying = markPublishedFailsOnce(log.outbox);
    const first = builder('ordering', new CountingTransport(broker, sent))
      .useEventLog({ outbox: dying.store })
      .configure({ minimumRetryInterval: 1_000 })
      .build();
    const { bus: billing, handled, duplicates } = receiver(broker);
    await buses.start(billing, first);
    await first.publish(new OrderPlaced({ orderId: 'o-1', n: 1 }));
    await eventually(() => dying.failed && handled.length === 1);
    await first.stop();

    // A second relay (another replica) takes the record over — at once after the row-locked claim rolled
    // back, or once the lease expired where claims lease — and sends it again.
    const second = builder('ordering', new CountingTransport(broker, sent))
      .useEventLog({ outbox: db.log({}, db.peer()).outbox })
      .build();
    await buses.start(second);
    await eventually(() => duplicates.length === 1);
    await settled(broker, [log.outbox]);

    expect(sent).toHaveLength(2);
    expect(new Set(sent).size).toBe(1);
    expect(handled).toEqual(['o-1']);
    const [record] = await log.outbox.list({ limit: 10 });
    expect(record?.status).toBe('published');
    const inbox = await db.log().inbox.list({ limit: 10 });
    expect(inbox.map((entry) => entry.status)).toEqual(['processed']);
  });

  it(`${ENGINE_NAMES[provider]}: two relays on one database send each event once`, async () => {
    const broker = new InProcessBroker();
    const sent: string[] = [];
    const relays = [db.prisma, db.peer()].map((client) =>
      builder('ordering', new CountingTransport(broker, sent))
        .useEventLog({ outbox: db.log({}, client).outbox })
        .configure({ batchSize: 7, minimumRetryInterval: 10_000 })
        .build(),
    );
    const { bus: billing, handled, duplicates } = receiver(broker);
    await buses.start(billing, ...relays);

    const total = 120;
    for (let batch = 0; batch < total / 10; batch++) {
      const bus = relays[batch % 2]!;
      const events = Array.from(
        { length: 10 },
        (_, i) => new OrderPlaced({ orderId: `o-${batch * 10 + i}`, n: i }),
      );
      await bus.publish(events);
    }
    await eventually(() => handled.length === total, 20_000);
    await settled(broker, [db.log().outbox]);

    expect(sent).toHaveLength(total);
    expect(new Set(sent).size).toBe(total);
    expect(duplicates).toEqual([]);
    expect(new Set(handled).size).toBe(total);
  });

  it(`${ENGINE_NAMES[provider]}: two relays under one lock send each event once, fenced: the lock's newest token is stored and an older one refused`, async () => {
    const broker = new InProcessBroker();
    const sent: string[] = [];
    const lock = new MemoryLock();
    const relays = [db.prisma, db.peer()].map((client) =>
      builder('ordering', new CountingTransport(broker, sent))
        .useEventLog({ outbox: db.log({}, client).outbox })
        .useLock(lock)
        .configure({ batchSize: 7, minimumRetryInterval: 10_000, distributedLockWaitDuration: 20 })
        .build(),
    );
    const { bus: billing, handled, duplicates } = receiver(broker);
    await buses.start(billing, ...relays);

    const total = 60;
    for (let batch = 0; batch < total / 10; batch++) {
      const events = Array.from(
        { length: 10 },
        (_, i) => new OrderPlaced({ orderId: `o-${batch * 10 + i}`, n: i }),
      );
      await relays[batch % 2]!.publish(events);
    }
    await eventually(() => handled.length === total, 20_000);
    await settled(broker, [db.log().outbox]);
    expect(sent).toHaveLength(total);
    expect(new Set(sent).size).toBe(total);
    expect(duplicates).toEqual([]);

    const fences = await db.prisma.$queryRawUnsafe<Array<{ lock_key: string; token: string }>>(
      `SELECT lock_key, CAST(token AS ${provider === 'mysql' ? 'CHAR' : 'TEXT'}) AS token FROM herald_fences`,
    );
    const fence = fences.find((row) => row.lock_key.startsWith('herald:outbox:'));
    expect(fence, "the relay lock's newest token is stored").toBeDefined();
    await expect(
      db.log().outbox.claim({
        limit: 10,
        leaseMs: 1_000,
        owner: 'stale',
        now: new Date(),
        fence: { lock: fence!.lock_key, token: BigInt(fence!.token) - 1n },
      }),
    ).rejects.toBeInstanceOf(StaleFencingTokenError);
  });

  it(`${ENGINE_NAMES[provider]}: a record the broker keeps refusing is dead-lettered with its last error; cleanup deletes published rows in batches`, async () => {
    const broker = new InProcessBroker();
    const log = db.log();
    const deletions: Array<{ limit: number; deleted: number }> = [];
    const outbox = new Proxy(log.outbox, {
      get(target, property) {
        if (property === 'deleteExpired') {
          return async (before: Date, limit: number) => {
            const deleted = await target.deleteExpired(before, limit);
            deletions.push({ limit, deleted });
            return deleted;
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const sender = builder('ordering', new RefusingTransport(broker, 'o-poison'))
      .useEventLog({ outbox })
      .configure({ localRetryTimes: 0, maxRetryTimes: 2, failedRetryInterval: 20, deleteBatchCount: 2 })
      .build();
    const { bus: billing, handled } = receiver(broker);
    await buses.start(billing, sender);
    await sender.publish(
      ['o-1', 'o-poison', 'o-2', 'o-3', 'o-4'].map((orderId, n) => new OrderPlaced({ orderId, n })),
    );

    await eventually(async () => (await log.outbox.list({ status: 'dead' })).length === 1);
    await eventually(() => handled.length === 4);
    const [dead] = await log.outbox.list({ status: 'dead' });
    expect(dead?.attempts).toBe(3);
    expect(dead?.lastError).toContain('refused o-poison');
    expect(handled.sort()).toEqual(['o-1', 'o-2', 'o-3', 'o-4']);

    expect(await sender.cleanupNow(new Date(Date.now() + 25 * 3_600_000))).toBe(4);
    expect(deletions).toEqual([
      { limit: 2, deleted: 2 },
      { limit: 2, deleted: 2 },
      { limit: 2, deleted: 0 },
    ]);
    expect((await log.outbox.list({})).map((record) => record.status)).toEqual(['dead']);
  });

  it(`${ENGINE_NAMES[provider]}: a handler writing through ctx.tx commits atomically with its inbox entry`, async () => {
    const broker = new InProcessBroker();
    const sender = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog({ outbox: db.log().outbox })
      .build();
    let attempts = 0;
    let rowsSeenByRetry = -1;
    const handlerName = `write-${unique()}`;
    const billing = builder('billing', new InProcessTransport({ broker }))
      // No local retry: the failure goes to the database inbox and comes back through its retry processor.
      .configure({ localRetryTimes: 0 })
      .useEventLog({ inbox: db.log({}, db.peer()).inbox })
      .handle(
        OrderPlaced,
        async (event, ctx) => {
          const tx = ctx.tx as Prisma.TransactionClient;
          attempts++;
          if (attempts === 2) rowsSeenByRetry = await tx.testOrder.count({ where: { id: event.orderId } });
          await tx.testOrder.create({ data: { id: event.orderId, note: `attempt ${attempts}` } });
          if (attempts === 1) throw new Error('fails after writing');
        },
        { name: handlerName },
      )
      .build();
    await buses.start(billing, sender);
    await sender.publish(new OrderPlaced({ orderId: 'o-atomic', n: 1 }));

    const inbox = db.log().inbox;
    await eventually(async () => (await inbox.list({ handler: handlerName }))[0]?.status === 'processed');
    expect(attempts).toBe(2);
    expect(rowsSeenByRetry).toBe(0);
    const orders = await db.prisma.testOrder.findMany();
    expect(orders).toEqual([{ id: 'o-atomic', note: 'attempt 2' }]);
    const [entry] = await inbox.list({ handler: handlerName });
    expect(entry?.attempts).toBe(1);
    expect(entry?.lastError).toContain('fails after writing');
  });

  it(`${ENGINE_NAMES[provider]}: publishing inside a @herald/uow unit of work commits with the business data`, async () => {
    const broker = new InProcessBroker();
    const manager = createUnitOfWorkManager<Prisma.TransactionClient>({
      transaction: (work) => db.prisma.$transaction(work),
    });
    const log = db.log();
    const sender = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog({ outbox: log.outbox })
      .useUnitOfWork(manager)
      .build();
    const { bus: billing, handled } = receiver(broker);
    await buses.start(billing, sender);

    await manager.run(async (uow) => {
      await uow.tx.testOrder.create({ data: { id: 'o-uow', note: 'in a unit of work' } });
      await sender.publish(new OrderPlaced({ orderId: 'o-uow', n: 1 }));
    });
    await expect(
      manager.run(async (uow) => {
        await uow.tx.testOrder.create({ data: { id: 'o-uow-failed', note: 'rolled back' } });
        await sender.publish(new OrderPlaced({ orderId: 'o-uow-failed', n: 2 }));
        throw new Error('unit of work failed');
      }),
    ).rejects.toThrow('unit of work failed');

    await eventually(() => handled.length === 1);
    await settled(broker, [log.outbox]);
    expect(handled).toEqual(['o-uow']);
    expect((await db.prisma.testOrder.findMany()).map((o) => o.id)).toEqual(['o-uow']);
  });

  it(`${ENGINE_NAMES[provider]}: migrate() is idempotent, also when several processes run it at once`, async () => {
    const tablePrefix = `mig_${unique()}_`;
    try {
      const concurrent = await Promise.all(
        [db.prisma, db.peer(), db.peer()].map((client) => migrate(client, { provider, tablePrefix })),
      );
      expect(concurrent.flatMap((result) => result.applied)).toEqual([
        '0001_init',
        '0002_error_history',
        '0003_fences',
      ]);
      expect((await migrate(db.prisma, { provider, tablePrefix })).applied).toEqual([]);

      const log = db.log({ tablePrefix });
      const { testWireMessage, outboxEntry } = await import('@herald/testkit');
      const message = testWireMessage({ name: 'test.migrated' });
      await log.outbox.add([outboxEntry(message)]);
      expect((await log.outbox.list({})).map((record) => record.message.id)).toEqual([message.id]);
    } finally {
      for (const table of ['outbox', 'inbox', 'migrations']) {
        await db.prisma.$executeRawUnsafe(`DROP TABLE IF EXISTS ${tablePrefix}${table}`);
      }
    }
  });

  it(`${ENGINE_NAMES[provider]}: the shipped schema fragment maps Herald's tables (generated client reads them)`, async () => {
    const log = db.log();
    const { testWireMessage, outboxEntry } = await import('@herald/testkit');
    const message = testWireMessage({ name: 'test.fragment', orderingKey: 'k-1' });
    await log.outbox.add([outboxEntry(message)]);
    await log.inbox.fail(
      {
        messageId: message.id,
        handler: 'h',
        eventName: message.name,
        orderingKey: 'k-1',
        message,
        attempts: 1,
        error: 'boom',
        nextAttemptAt: null,
      },
      new Date(),
    );
    const [outboxRow] = await db.prisma.heraldOutbox.findMany();
    expect(outboxRow).toMatchObject({
      id: message.id,
      name: 'test.fragment',
      orderingKey: 'k-1',
      status: 'pending',
      attempts: 0,
    });
    expect(Number(outboxRow!.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect([...outboxRow!.body]).toEqual([...message.body]);
    const [inboxRow] = await db.prisma.heraldInbox.findMany();
    expect(inboxRow).toMatchObject({
      messageId: message.id,
      handler: 'h',
      status: 'dead',
      lastError: 'boom',
    });
    expect(JSON.parse(inboxRow!.errorHistory!.trim())).toMatchObject({ error: 'boom' });
    expect((await db.prisma.heraldMigration.findMany()).map((m) => m.name)).toEqual([
      '0001_init',
      '0002_error_history',
      '0003_fences',
    ]);
  });

  it(`${ENGINE_NAMES[provider]}: values longer than the key columns are refused, never truncated`, async () => {
    const broker = new InProcessBroker();
    const log = db.log();
    const sender = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog(log, { sending: false })
      .build();
    await buses.start(sender);
    await expect(
      sender.publish(new OrderPlaced({ orderId: 'o-1', n: 1 }), { orderingKey: 'k'.repeat(256) }),
    ).rejects.toBeInstanceOf(ConfigurationError);
    expect(await log.outbox.list({})).toEqual([]);
    // A foreign producer's overlong message id must not be cut to a prefix another id may share.
    const begin = { messageId: `id-${'x'.repeat(300)}`, handler: 'h', eventName: 'e', orderingKey: null };
    await expect(log.inbox.tryBegin({ ...begin, leaseMs: 1_000, now: new Date() })).rejects.toBeInstanceOf(
      MalformedMessageError,
    );
    expect(await log.inbox.list({})).toEqual([]);
  });

  it(`${ENGINE_NAMES[provider]}: a transaction of another PrismaClient is refused with a typed error`, async () => {
    if (provider === 'sqlite') {
      // One client per SQLite file and process (see the README); the other engines cover the check.
      expect(db.peer()).toBe(db.prisma);
      return;
    }
    const log = db.log();
    const other = db.client();
    const { testWireMessage, outboxEntry } = await import('@herald/testkit');
    await expect(
      other.$transaction((tx) => log.outbox.add([outboxEntry(testWireMessage())], tx)),
    ).rejects.toBeInstanceOf(ConfigurationError);
    expect(await log.outbox.list({})).toEqual([]);
  });
});

/** An in-process transport whose broker refuses (nacks) one order, every time. */
class RefusingTransport extends InProcessTransport {
  readonly #orderId: string;

  constructor(broker: InProcessBroker, orderId: string) {
    super({ broker });
    this.#orderId = orderId;
  }

  override async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    const refused = (message: WireMessage) =>
      (JSON.parse(new TextDecoder().decode(message.body)) as { orderId: string }).orderId === this.#orderId;
    const outcomes = await super.publish(messages.filter((message) => !refused(message)));
    return messages.map(
      (message) =>
        outcomes.find((outcome) => outcome.id === message.id) ?? {
          id: message.id,
          ok: false,
          error: new Error(`broker refused ${this.#orderId}`),
        },
    );
  }
}

/** Wraps an outbox whose first `markPublished` fails, as if the process died right before it. */
function markPublishedFailsOnce(store: OutboxStore): { store: OutboxStore; readonly failed: boolean } {
  let failed = false;
  const wrapped = new Proxy(store, {
    get(target, property) {
      if (property === 'markPublished') {
        return async (ids: readonly string[], now: Date) => {
          if (!failed) {
            failed = true;
            throw new Error('process killed before markPublished');
          }
          return target.markPublished(ids, now);
        };
      }
      if (property === 'claimLocked' && target.claimLocked) {
        // The row-locked claim marks inside its transaction: dying after the broker confirmed rolls it back.
        const claimLocked = target.claimLocked.bind(target);
        return (request: ClaimRequest, send: Parameters<typeof claimLocked>[1]) =>
          claimLocked(request, async (records) => {
            const outcome = await send(records);
            if (!failed && records.length > 0) {
              failed = true;
              throw new Error('process killed before the mark');
            }
            return outcome;
          });
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store: wrapped,
    get failed() {
      return failed;
    },
  };
}

describe('named configurations: one service, two databases', () => {
  let orders: EngineHandle;
  let payments: EngineHandle;
  const buses = new Buses();

  beforeAll(async () => {
    [orders, payments] = await Promise.all([openEngine('postgresql'), openEngine('sqlite')]);
    await Promise.all([orders.reset(), payments.reset()]);
  });
  afterAll(async () => {
    await buses.stopAll();
    await Promise.all([orders?.close(), payments?.close()]);
  });

  it('routes each event type to the outbox of its own database (PostgreSQL and SQLite) and delivers both', async () => {
    const broker = new InProcessBroker();
    const ordersLog = orders.log({ databaseName: 'orders' });
    const paymentsLog = payments.log({ databaseName: 'payments' });
    const shop = builder('shop', new InProcessTransport({ broker }))
      .useEventLog(ordersLog, { name: 'Orders', selector: (event) => event.name === OrderPlaced.eventName })
      .useEventLog(paymentsLog, {
        name: 'Payments',
        selector: (event) => event.name === PaymentTaken.eventName,
      })
      .build();
    const seen: string[] = [];
    const accounting = builder('accounting', new InProcessTransport({ broker }))
      .handle(OrderPlaced, async (event) => void seen.push(`order ${event.orderId}`))
      .handle(PaymentTaken, async (event) => void seen.push(`payment ${event.paymentId}`))
      .build();
    await buses.start(accounting, shop);

    await orders.prisma.$transaction(async (tx) => {
      await tx.testOrder.create({ data: { id: 'o-1', note: 'order' } });
      await shop.publish(new OrderPlaced({ orderId: 'o-1', n: 1 }), { tx });
    });
    await payments.prisma.$transaction(async (tx) => {
      await tx.testOrder.create({ data: { id: 'p-1', note: 'payment' } });
      await shop.publish(new PaymentTaken({ paymentId: 'p-1' }), { tx });
    });
    // An event in the other database's transaction is refused, not written to the wrong outbox.
    await expect(
      payments.prisma.$transaction((tx) => shop.publish(new OrderPlaced({ orderId: 'o-2', n: 2 }), { tx })),
    ).rejects.toBeInstanceOf(ConfigurationError);

    await eventually(() => seen.length === 2);
    await settled(broker, [ordersLog.outbox, paymentsLog.outbox]);
    expect(seen.sort()).toEqual(['order o-1', 'payment p-1']);
    expect((await ordersLog.outbox.list({})).map((r) => r.message.name)).toEqual([OrderPlaced.eventName]);
    expect((await paymentsLog.outbox.list({})).map((r) => r.message.name)).toEqual([PaymentTaken.eventName]);
  });
});
