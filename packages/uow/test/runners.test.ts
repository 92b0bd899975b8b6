import { createIntegrationEventBus, MemoryDatabase, MemoryTransaction, silentLogger } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { createUnitOfWorkManager, type TransactionRunner, withUnitOfWork } from '../src/index.js';
import { fastOptions, started } from './helpers.js';

class OrderPlaced {
  static readonly eventName = 'ordering.order-placed';
  constructor(readonly orderId: string) {}
}

// ---------------------------------------------------------------------------
// A client shaped like Prisma's generated one (same overloaded `$transaction`),
// backed by a MemoryDatabase so the test needs no database server.

interface Order {
  id: string;
  total: number;
}

/** Like `Prisma.TransactionClient`: the delegates without `$transaction`. */
interface FakeTransactionClient {
  readonly order: {
    create(args: { data: Order }): Promise<Order>;
    findUnique(args: { where: { id: string } }): Promise<Order | null>;
  };
}

class FakePrismaClient {
  readonly #db = new MemoryDatabase('prisma-like');

  /** Committed rows, as `prisma.order.findUnique` would see them. */
  readonly order = {
    findUnique: async ({ where }: { where: { id: string } }): Promise<Order | null> =>
      this.#db.get<Order>('Order', where.id) ?? null,
  };

  $transaction<P extends Promise<unknown>[]>(queries: [...P]): Promise<unknown[]>;
  $transaction<R>(
    fn: (prisma: FakeTransactionClient) => Promise<R>,
    options?: { timeout?: number },
  ): Promise<R>;
  $transaction(arg: unknown): Promise<unknown> {
    if (Array.isArray(arg)) return Promise.all(arg);
    const fn = arg as (prisma: FakeTransactionClient) => Promise<unknown>;
    return this.#db.transaction((tx) => fn(transactionClient(tx)));
  }
}

function transactionClient(tx: MemoryTransaction): FakeTransactionClient {
  return {
    order: {
      create: async ({ data }) => {
        tx.put('Order', data.id, data);
        return data;
      },
      findUnique: async ({ where }) => tx.get<Order>('Order', where.id) ?? null,
    },
  };
}

describe('with a Prisma-style $transaction', () => {
  it('gives typed access to the transaction client and rolls back with an in-process handler', async () => {
    const prisma = new FakePrismaClient();
    const uow = createUnitOfWorkManager<FakeTransactionClient>({
      transaction: (work) => prisma.$transaction(work),
      logger: silentLogger,
    });
    const bus = createIntegrationEventBus({ service: 'prisma-shop', logger: silentLogger })
      .configure(fastOptions)
      .useUnitOfWork(uow)
      .handle(OrderPlaced, async (event, ctx) => {
        const tx = ctx.tx as FakeTransactionClient;
        const order = await tx.order.findUnique({ where: { id: event.orderId } });
        if (!order || order.total > 100) throw new Error(`order ${event.orderId} refused`);
      })
      .build();
    await started(bus);

    await uow.run(async ({ tx }) => {
      await tx.order.create({ data: { id: 'o-1', total: 50 } });
      await bus.publish(new OrderPlaced('o-1'));
    });
    await expect(
      uow.run(async ({ tx }) => {
        await tx.order.create({ data: { id: 'o-2', total: 500 } });
        await bus.publish(new OrderPlaced('o-2'));
      }),
    ).rejects.toThrow('order o-2 refused');
    expect(await prisma.order.findUnique({ where: { id: 'o-1' } })).toEqual({ id: 'o-1', total: 50 });
    expect(await prisma.order.findUnique({ where: { id: 'o-2' } })).toBeNull();
  });
});

// ---------------------------------------------------------------------------
// A hand-written BEGIN/COMMIT wrapper over a pg-style client.

interface QueryClient {
  query(sql: string, params?: unknown[]): Promise<unknown>;
  release(): void;
}

class FakePool {
  readonly statements: string[] = [];
  released = 0;

  async connect(): Promise<QueryClient> {
    return {
      query: async (sql) => {
        this.statements.push(sql);
        return { rows: [] };
      },
      release: () => {
        this.released++;
      },
    };
  }
}

/** The README's `pg` runner: BEGIN, work, COMMIT — or ROLLBACK and re-throw. */
function pgTransaction(pool: { connect(): Promise<QueryClient> }): TransactionRunner<QueryClient> {
  return async (work) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  };
}

describe('with a BEGIN/COMMIT wrapper', () => {
  it('runs the work and the completion callbacks between BEGIN and COMMIT', async () => {
    const pool = new FakePool();
    const uow = createUnitOfWorkManager({ transaction: pgTransaction(pool), logger: silentLogger });
    await uow.run(async (current) => {
      await current.tx.query('INSERT INTO orders VALUES ($1)', ['o-1']);
      current.beforeComplete(async () => {
        await current.tx.query('INSERT INTO outbox VALUES ($1)', ['m-1']);
      });
      current.afterCommit(() => {
        pool.statements.push('-- after commit');
      });
    });
    await uow
      .run(async ({ tx }) => {
        await tx.query('INSERT INTO orders VALUES ($1)', ['o-2']);
        throw new Error('nope');
      })
      .catch(() => undefined);
    expect(pool.statements).toEqual([
      'BEGIN',
      'INSERT INTO orders VALUES ($1)',
      'INSERT INTO outbox VALUES ($1)',
      'COMMIT',
      '-- after commit',
      'BEGIN',
      'INSERT INTO orders VALUES ($1)',
      'ROLLBACK',
    ]);
    expect(pool.released).toBe(2);
  });
});

// ---------------------------------------------------------------------------

describe('withUnitOfWork', () => {
  it('wraps a function: arguments, this and the result pass through, inside a unit of work', async () => {
    const db = new MemoryDatabase('app');
    const uow = createUnitOfWorkManager({ transaction: db.transaction.bind(db), logger: silentLogger });
    const transactional = withUnitOfWork(uow);

    const placeOrder = transactional(async (id: string, total: number) => {
      uow.requireCurrent().tx.put('orders', id, { total });
      return `placed ${id}`;
    });
    expect(transactional(async function namedWork() {}).name).toBe('namedWork');
    await expect(placeOrder('o-1', 3)).resolves.toBe('placed o-1');
    expect(db.get('orders', 'o-1')).toEqual({ total: 3 });

    const service = {
      prefix: 'svc',
      describe: transactional(function (this: { prefix: string }, id: string) {
        return `${this.prefix}:${id}:${uow.current()?.state}`;
      }),
    };
    await expect(service.describe('o-2')).resolves.toBe('svc:o-2:active');
  });

  it('joins an ambient unit of work, and honours its options', async () => {
    const db = new MemoryDatabase('app');
    const uow = createUnitOfWorkManager({ transaction: db.transaction.bind(db), logger: silentLogger });
    const joined = withUnitOfWork(uow)(async () => uow.current());
    const separate = withUnitOfWork(uow, { requiresNew: true })(async () => uow.current());
    await uow.run(async (outer) => {
      expect(await joined()).toBe(outer);
      const inner = await separate();
      expect(inner).not.toBe(outer);
      expect(inner?.outer).toBe(outer);
    });
  });

  it('rolls back when the wrapped function throws', async () => {
    const db = new MemoryDatabase('app');
    const uow = createUnitOfWorkManager({ transaction: db.transaction.bind(db), logger: silentLogger });
    const error = new Error('refused');
    const failing = withUnitOfWork(uow)(async (id: string) => {
      uow.requireCurrent().tx.put('orders', id, {});
      throw error;
    });
    await expect(failing('o-1')).rejects.toBe(error);
    expect(db.get('orders', 'o-1')).toBeUndefined();
  });

  it('works as a standard method decorator', async () => {
    const db = new MemoryDatabase('app');
    const uow = createUnitOfWorkManager({ transaction: db.transaction.bind(db), logger: silentLogger });
    const transactional = withUnitOfWork(uow);

    class OrderService {
      readonly table = 'orders';

      @transactional
      async place(id: string): Promise<MemoryTransaction> {
        const { tx } = uow.requireCurrent();
        tx.put(this.table, id, { placed: true });
        return tx;
      }
    }

    const tx = await new OrderService().place('o-9');
    expect(tx).toBeInstanceOf(MemoryTransaction);
    expect(tx.state).toBe('committed');
    expect(db.get('orders', 'o-9')).toEqual({ placed: true });
  });
});
