import { createServer, type Server, Socket } from 'node:net';
import {
  createIntegrationEventBus,
  type DeliveryHandler,
  type Disposition,
  type HeraldOptions,
  type IntegrationEventBus,
  type Logger,
  type PublishOutcome,
  type SubscriptionHandle,
  type Transport,
  type WireMessage,
} from '@herald/core';
import { PrismaPg } from '@prisma/adapter-pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Prisma } from './generated/postgresql/client/client.js';
import { PrismaClient as PostgresClient } from './generated/postgresql/client/client.js';
import {
  Buses,
  ENGINE_NAMES,
  type EngineHandle,
  eventually,
  fastOptions,
  OrderPlaced,
  openEngine,
  PROVIDERS,
  type RecordedStatement,
  recordingClient,
  type TestPrismaClient,
  unique,
} from './helpers.js';

/**
 * A transport the test drives by hand: what the bus publishes is kept, and
 * `deliver` hands messages to the consumer all at once (as a broker with a
 * wide prefetch window would), returning core's dispositions.
 */
class HandDrivenTransport implements Transport {
  readonly name = 'hand-driven';
  readonly capabilities = {
    orderedByKey: false,
    persistent: false,
    deadLetter: false,
    batchPublish: true,
    delayedRedelivery: false,
    consumerGroups: false,
  };
  readonly published: WireMessage[] = [];
  #handler: DeliveryHandler | undefined;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    this.published.push(...messages);
    return messages.map((message) => ({ id: message.id, ok: true as const }));
  }

  async subscribe(_subscription: unknown, handler: DeliveryHandler): Promise<SubscriptionHandle> {
    this.#handler = handler;
    return { close: async () => undefined };
  }

  deliver(messages: readonly WireMessage[]): Promise<Disposition[]> {
    const handler = this.#handler!;
    return Promise.all(
      messages.map((message) =>
        handler({ headers: message.headers, body: message.body, deliveryAttempt: 1 }),
      ),
    );
  }
}

/** How many group-commit inserts (`INSERT … RETURNING`) into the inbox a client sent. */
function inboxBatchInserts(statements: readonly RecordedStatement[]): number {
  return statements.filter(
    (s) => /INSERT/i.test(s.sql) && /herald_inbox/.test(s.sql) && /RETURNING/i.test(s.sql),
  ).length;
}

describe.each(PROVIDERS)('group commit on %s', (provider) => {
  let db: EngineHandle;
  const buses = new Buses();

  beforeAll(async () => {
    db = await openEngine(provider);
  });
  afterAll(() => db?.close());
  beforeEach(() => db.reset());
  afterEach(() => buses.stopAll());

  /**
   * One bus that publishes (in-memory outbox) through a hand-driven transport and
   * consumes into the engine's inbox; its handler writes one row through ctx.tx.
   */
  async function service(options: {
    handle: (orderId: string, tx: Prisma.TransactionClient, attempt: number) => Promise<void>;
    configure?: Partial<HeraldOptions>;
    client?: TestPrismaClient;
  }) {
    const transport = new HandDrivenTransport();
    const handlerName = `write-${unique()}`;
    const bus = createIntegrationEventBus({ service: 'billing', logger: quietLogger() })
      .useTransport(transport)
      .configure({ ...fastOptions, ...options.configure })
      .useEventLog({ inbox: db.log({}, options.client ?? db.peer()).inbox })
      .handle(
        OrderPlaced,
        async (event, ctx) => {
          const tx = ctx.tx as Prisma.TransactionClient;
          await tx.testOrder.create({ data: { id: event.orderId, note: `n${event.n}` } });
          await options.handle(event.orderId, tx, ctx.attempt);
        },
        { name: handlerName },
      )
      .build();
    await buses.start(bus);
    return { bus, transport, handlerName };
  }

  /** Publishes `count` events (optionally keyed) and returns their wire messages. */
  async function publish(
    bus: IntegrationEventBus,
    transport: HandDrivenTransport,
    count: number,
    keyOf?: (n: number) => string,
  ): Promise<WireMessage[]> {
    const from = transport.published.length;
    for (let n = 0; n < count; n++) {
      await bus.publish(new OrderPlaced({ orderId: `o-${n}`, n }), keyOf ? { orderingKey: keyOf(n) } : {});
    }
    await eventually(() => transport.published.length >= from + count);
    return transport.published.slice(from);
  }

  const rows = async () =>
    (await db.prisma.testOrder.findMany({ orderBy: { id: 'asc' } })).map((row) => row.id);

  it(`${ENGINE_NAMES[provider]}: deliveries ready together commit in one inbox transaction, each handler's ctx.tx writes with its entry`, async () => {
    const statements: RecordedStatement[] = [];
    const client = recordingClient(
      provider === 'sqlite' ? db.prisma : db.client(),
      statements,
    ) as TestPrismaClient;
    // One inbox transaction at a time: all that is ready goes into it.
    const { bus, transport } = await service({
      handle: async () => undefined,
      client,
      configure: { concurrency: 1 },
    });
    const messages = await publish(bus, transport, 40);
    statements.length = 0;
    const dispositions = await transport.deliver(messages);
    expect(dispositions.every((d) => d.kind === 'ack')).toBe(true);
    expect(await rows()).toHaveLength(40);
    expect(inboxBatchInserts(statements), 'one dedup statement for the whole batch').toBe(1);
  });

  it(`${ENGINE_NAMES[provider]}: a handler that throws does not take the others' work down; it retries on its own`, async () => {
    const attempts = new Map<string, number>();
    const { bus, transport, handlerName } = await service({
      configure: { localRetryTimes: 1, localFailedRetryInterval: 20 },
      handle: async (orderId) => {
        attempts.set(orderId, (attempts.get(orderId) ?? 0) + 1);
        if (orderId === 'o-7' && attempts.get(orderId) === 1) throw new Error('first attempt fails');
      },
    });
    const messages = await publish(bus, transport, 20);
    const dispositions = await transport.deliver(messages);
    expect(dispositions.every((d) => d.kind === 'ack')).toBe(true);
    expect(await rows()).toHaveLength(20);
    expect(attempts.get('o-7'), 'failed once, then succeeded in a local retry').toBe(2);
    const inbox = await db.log().inbox.list({ handler: handlerName, limit: 100 });
    expect(inbox.filter((entry) => entry.status === 'processed')).toHaveLength(20);
  });

  it(`${ENGINE_NAMES[provider]}: duplicates inside one batch and across batches are absorbed`, async () => {
    let handled = 0;
    const { bus, transport } = await service({ handle: async () => void handled++ });
    const duplicates: string[] = [];
    bus.on('duplicate', (event) => void duplicates.push(event.messageId));
    const [m1, m2] = await publish(bus, transport, 2);
    const first = await transport.deliver([m1!, m1!, m2!, m1!]);
    expect(first.map((d) => d.kind)).toEqual(['ack', 'ack', 'ack', 'ack']);
    const again = await transport.deliver([m2!, m1!]);
    expect(again.map((d) => d.kind)).toEqual(['ack', 'ack']);
    expect(handled).toBe(2);
    expect(await rows()).toEqual(['o-0', 'o-1']);
    expect(duplicates.filter((id) => id === m1!.id).length).toBeGreaterThanOrEqual(3);
  });

  it(`${ENGINE_NAMES[provider]}: per-key order holds across batches, and a parked key stays parked while others flow`, async () => {
    const seen = new Map<string, number[]>();
    const { bus, transport, handlerName } = await service({
      configure: { localRetryTimes: 0, maxRetryTimes: 3, retryBackoff: () => 60_000 },
      handle: async (orderId) => {
        const n = Number(orderId.slice(2));
        if (n === 0) throw new Error('the first of key k0 keeps failing');
        const key = `k${n % 3}`;
        seen.set(key, [...(seen.get(key) ?? []), n]);
        await new Promise((resolve) => setTimeout(resolve, (n * 7) % 5));
      },
    });
    const messages = await publish(bus, transport, 30, (n) => `k${n % 3}`);
    // Shuffled delivery order would break a broker's per-key order; here we keep publish order per key.
    await transport.deliver(messages);
    expect(seen.get('k1')).toEqual([1, 4, 7, 10, 13, 16, 19, 22, 25, 28]);
    expect(seen.get('k2')).toEqual([2, 5, 8, 11, 14, 17, 20, 23, 26, 29]);
    expect(seen.get('k0'), 'k0 is parked behind its failed first message').toBeUndefined();
    const waiting = await db.log().inbox.list({ handler: handlerName, status: 'failed', limit: 100 });
    expect(waiting.filter((entry) => entry.orderingKey === 'k0')).toHaveLength(10);
    expect(waiting.filter((entry) => entry.attempts === 0)).toHaveLength(9);
  });

  it(`${ENGINE_NAMES[provider]}: the handler timeout applies per delivery inside a batch`, async () => {
    const { bus, transport, handlerName } = await service({
      configure: { handlerTimeout: 300, localRetryTimes: 0, retryBackoff: () => 60_000 },
      handle: async (orderId, _tx, attempt) => {
        if (orderId === 'o-3' && attempt === 1) await new Promise((resolve) => setTimeout(resolve, 1_000));
      },
    });
    const messages = await publish(bus, transport, 10);
    const dispositions = await transport.deliver(messages);
    expect(dispositions.every((d) => d.kind === 'ack')).toBe(true);
    expect(await rows()).toHaveLength(9);
    const [timedOut] = await db.log().inbox.list({ handler: handlerName, status: 'failed', limit: 10 });
    expect(timedOut?.messageId).toBe(messages[3]!.id);
    expect(timedOut?.lastError).toMatch(/timed out|timeout/i);
  });
});

/** A logger that keeps its lines (to count them). */
function quietLogger(lines: string[] = []): Logger & { lines: string[] } {
  const keep = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return { lines, debug: () => undefined, info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/**
 * A TCP proxy in front of PostgreSQL that can be cut: a real outage as the
 * client sees it (connections reset, new ones refused) without stopping the
 * server other tests share.
 */
class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #up = true;
  port = 0;

  constructor(readonly target: { host: string; port: number }) {
    this.#server = createServer((client) => {
      if (!this.#up) return client.destroy();
      const upstream = new Socket();
      upstream.connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  cut(): void {
    this.#up = false;
    for (const socket of this.#sockets) socket.destroy();
  }

  restore(): void {
    this.#up = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('an inbox database outage (PostgreSQL behind a cut connection)', () => {
  let db: EngineHandle;
  const buses = new Buses();
  beforeAll(async () => {
    db = await openEngine('postgresql');
  });
  afterAll(() => db?.close());
  beforeEach(() => db.reset());
  afterEach(() => buses.stopAll());

  it('deliveries wait and probe with a growing pause: bounded errors and log lines, nothing lost', async () => {
    const url = new URL(db.url);
    const proxy = new CuttableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    await proxy.listen();
    url.host = `127.0.0.1:${proxy.port}`;
    const client = new PostgresClient({
      adapter: new PrismaPg({ connectionString: url.toString(), connectionTimeoutMillis: 500 }),
    }) as unknown as TestPrismaClient;
    const lines: string[] = [];
    const transport = new HandDrivenTransport();
    const handlerName = `outage-${unique()}`;
    let errors = 0;
    const bus = createIntegrationEventBus({ service: 'billing', logger: quietLogger(lines) })
      .useTransport(transport)
      .configure({ ...fastOptions, localFailedRetryInterval: 50, pollingInterval: 1_000 })
      .useEventLog({ inbox: db.log({ transaction: { maxWait: 500, timeout: 5_000 } }, client).inbox })
      .handle(
        OrderPlaced,
        async (event, ctx) => {
          await (ctx.tx as Prisma.TransactionClient).testOrder.create({
            data: { id: event.orderId, note: 'x' },
          });
        },
        { name: handlerName },
      )
      .build();
    bus.on('error', () => void errors++);
    try {
      await buses.start(bus);
      for (let n = 0; n < 300; n++) await bus.publish(new OrderPlaced({ orderId: `o-${n}`, n }));
      await eventually(() => transport.published.length >= 300);
      await transport.deliver(transport.published.slice(0, 50));
      proxy.cut();
      const delivering = transport.deliver(transport.published.slice(50));
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      expect(bus.health ? (await bus.health()).ready : false, 'health reports the outage').toBe(false);
      proxy.restore();
      const dispositions = await delivering;
      expect(
        dispositions.every((d) => d.kind === 'ack'),
        'every delivery acknowledged once the store is back',
      ).toBe(true);
      expect(await db.prisma.testOrder.count()).toBe(300);
      expect(errors, `store errors reported: ${errors}`).toBeLessThanOrEqual(15);
      // One line when the outage starts, one when it ends. Pooled connections that died with the
      // cut fail one by one right after the restore: relapses of the same outage, not new ones.
      const starts = lines.filter((line) => /Inbox store unavailable/.test(line));
      const ends = lines.filter((line) => /Inbox store available again/.test(line));
      expect(starts.length, lines.join('\n')).toBe(1);
      expect(ends.length, lines.join('\n')).toBe(1);
      expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(8);
    } finally {
      await buses.stopAll();
      await client.$disconnect().catch(() => undefined);
      await proxy.close();
    }
  }, 60_000);
});
