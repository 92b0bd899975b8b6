import { ConfigurationError, InProcessTransport, type Logger, silentLogger } from '@herald/core';
import { describeOutboxStoreConformance, outboxEntry, testWireMessage } from '@herald/testkit';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { prismaEventLog } from '../src/index.js';
import { PgSqlClient } from '../src/pg-sql-client.js';
import { PrismaClient as PostgresClient } from './generated/postgresql/client/client.js';
import {
  Buses,
  builder,
  type EngineHandle,
  eventually,
  InProcessBroker,
  lazyEngine,
  OrderPlaced,
  openEngine,
  type RecordedStatement,
  recordingClient,
  sleep,
  unique,
} from './helpers.js';

// `relayConnection`: the relay's claims and marks on a `pg` pool of its own (PostgreSQL).

const conformanceEngine = lazyEngine('postgresql');
afterAll(() => conformanceEngine.close());

describeOutboxStoreConformance({
  name: 'prisma-postgresql with relayConnection (PostgreSQL)',
  create: async () => {
    const db = await conformanceEngine.get();
    await db.reset();
    const log = db.log({
      relayConnection: { connectionString: db.url, poolSize: 4 },
      notify: { connectionString: db.url },
    });
    return {
      store: log.outbox,
      transaction: (work) => db.prisma.$transaction(work),
      cleanup: () => log.outbox.close(),
    };
  },
});

let db: EngineHandle;
const buses = new Buses();
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  db = await openEngine('postgresql');
});
afterAll(() => db?.close());
beforeEach(() => db.reset());
afterEach(async () => {
  await buses.stopAll();
  await Promise.allSettled(closers.splice(0).map((close) => close()));
});

/** A promise to wait on and the function that resolves it. */
function signal(): { fire: () => void; fired: Promise<void> } {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fire, fired };
}

function relayLog(extra: Parameters<EngineHandle['log']>[0] = {}, prisma = db.prisma) {
  const log = db.log({ relayConnection: { connectionString: db.url }, ...extra }, prisma);
  closers.push(() => log.outbox.close());
  return log;
}

function lockedClaim(log: ReturnType<typeof relayLog>, limit = 100) {
  return log.outbox.claimLocked!(
    { limit, leaseMs: 30_000, owner: 'relay-connection-test', now: new Date() },
    async (records) => ({ published: records.map((r) => r.message.id), held: [] }),
  );
}

async function addMessages(count: number) {
  const messages = Array.from({ length: count }, (_, n) =>
    testWireMessage({ name: 'test.relay', payload: { n } }),
  );
  await db.log().outbox.add(messages.map(outboxEntry));
  return messages;
}

async function statusOf(id: string): Promise<string> {
  const rows = await db.prisma.$queryRawUnsafe<{ status: string }[]>(
    'SELECT status FROM herald_outbox WHERE id = $1',
    id,
  );
  return rows[0]!.status;
}

describe('relayConnection', () => {
  it('runs every relay statement on its own pool: the PrismaClient sees none of them', async () => {
    const seen: RecordedStatement[] = [];
    const log = relayLog({}, recordingClient(db.prisma, seen) as typeof db.prisma);
    await addMessages(5);
    const claimed = await lockedClaim(log);
    expect(claimed).toHaveLength(5);
    await log.outbox.markPublished([], new Date());
    expect(seen).toEqual([]);
    const rows = await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM herald_outbox WHERE status = 'published'`,
    );
    expect(Number(rows[0]!.n)).toBe(5);
  });

  it("claims while every connection of the application's pool is taken", async () => {
    // An application client with one connection, held by a long business transaction.
    const app = new PostgresClient({ adapter: new PrismaPg({ connectionString: db.url, max: 1 }) });
    closers.push(() => app.$disconnect());
    const log = relayLog({}, app);
    await addMessages(3);
    const released = signal();
    const holding = signal();
    const business = app.$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe('SELECT 1');
        holding.fire();
        await released.fired;
      },
      { timeout: 20_000 },
    );
    await holding.fired;
    try {
      const started = Date.now();
      expect(await lockedClaim(log)).toHaveLength(3);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      released.fire();
      await business;
    }
  });

  it('relays a bus end to end', async () => {
    const broker = new InProcessBroker();
    const handled = new Set<number>();
    const relay = builder('ordering', new InProcessTransport({ broker }))
      .useEventLog(relayLog({ notify: { connectionString: db.url } }))
      .build();
    const consumer = builder('billing', new InProcessTransport({ broker }))
      .handle(OrderPlaced, async (event) => void handled.add(event.n), { name: `h-${unique()}` })
      .build();
    await buses.start(consumer, relay);
    await db.prisma.$transaction(async (tx) => {
      for (let n = 0; n < 50; n++) await relay.publish(new OrderPlaced({ orderId: `o-${n}`, n }), { tx });
    });
    await eventually(() => handled.size === 50, 10_000);
  });

  it('replaces idle connections the server closed, and logs that without the password', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (message, fields) => void warnings.push(`${message} ${JSON.stringify(fields ?? {})}`),
    };
    const log = relayLog({ logger });
    await addMessages(1);
    expect(await lockedClaim(log)).toHaveLength(1);
    // As a server restart or an idle-session timeout would: every idle relay connection of this database ends.
    await db.prisma.$queryRawUnsafe(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'herald-relay' AND datname = current_database() AND pid <> pg_backend_pid()`,
    );
    await addMessages(2);
    await eventually(async () => (await lockedClaim(log).catch(() => [])).length === 2, 5_000);
    expect(warnings.length).toBeGreaterThan(0);
    for (const warning of warnings) {
      expect(warning).toContain('57P01'); // the server's reason, by code
      expect(warning).not.toContain('connectionParameters'); // never the client pg attaches to the error
    }
    const { username, password } = new URL(db.url);
    if (password && password !== username)
      for (const warning of warnings) expect(warning).not.toContain(password);
  });

  it('closes its pool with the store: later claims fail with a typed error', async () => {
    const log = relayLog();
    await addMessages(1);
    expect(await lockedClaim(log)).toHaveLength(1);
    await log.outbox.close();
    await expect(lockedClaim(log)).rejects.toMatchObject({ code: 'HERALD_RELAY_POOL_CLOSED' });
  });

  it('never shows the password of a connection string it cannot log in with', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-Secret-42';
    const warnings: unknown[] = [];
    const logger: Logger = { ...silentLogger, warn: (...args) => void warnings.push(args) };
    const log = relayLog({ relayConnection: { connectionString: url.toString() }, logger });
    await addMessages(1);
    const error = await lockedClaim(log).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const shown = JSON.stringify({
      error,
      message: (error as Error).message,
      stack: (error as Error).stack,
      warnings,
    });
    expect(shown).not.toContain('not-the-Secret-42');
  });

  it('is not ready at once while the relay cannot log in, saying why without the password; ready when it can', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-Secret-43';
    const broken = builder('ordering', new InProcessTransport({ broker: new InProcessBroker() }))
      .useEventLog(relayLog({ relayConnection: { connectionString: url.toString() } }))
      .build();
    const working = builder('ordering', new InProcessTransport({ broker: new InProcessBroker() }))
      .useEventLog(relayLog())
      .build();
    await buses.start(broken, working);
    const health = await broken.health();
    expect(health.ready).toBe(false);
    expect(health.reasons.join('\n')).toMatch(/relay connection: .*(password|28P01)/i);
    expect(JSON.stringify(health)).not.toContain('not-the-Secret-43');
    expect(await working.health()).toMatchObject({ ready: true, reasons: [] });
  });

  it('refuses a broken configuration with a typed error, naming no password', () => {
    const attempt = (options: Record<string, unknown>) => () =>
      prismaEventLog(db.prisma, { provider: 'postgresql', ...options } as never);
    expect(attempt({ relayConnection: { connectionString: 'mysql://u:pw-Secret@localhost/db' } })).toThrow(
      ConfigurationError,
    );
    expect(
      attempt({ relayConnection: { connectionString: 'mysql://u:pw-Secret@localhost/db' } }),
    ).not.toThrow(/pw-Secret/);
    expect(attempt({ relayConnection: { connectionString: '' } })).toThrow(ConfigurationError);
    expect(attempt({ relayConnection: { connectionString: db.url, poolSize: 0 } })).toThrow(/poolSize/);
    expect(attempt({ relayConnection: 'postgres://x' })).toThrow(ConfigurationError);
    expect(() =>
      prismaEventLog(db.prisma, {
        provider: 'mysql',
        relayConnection: { connectionString: db.url },
      }),
    ).toThrow(/PostgreSQL only/);
  });
});

describe('the relay skips its emptiness probe after a NOTIFY', () => {
  it('claims with BEGIN and SELECT only once another process committed; probes on a poll', async () => {
    const seen: RecordedStatement[] = [];
    // Through the PrismaClient (no relayConnection), so the recording client sees the claim.
    const log = db.log(
      { notify: { connectionString: db.url } },
      recordingClient(db.client(), seen) as typeof db.prisma,
    );
    closers.push(() => log.outbox.close());
    let wakes = 0;
    const stop = log.outbox.onWake(() => void wakes++);
    closers.push(async () => stop());
    await log.outbox.whenListening();
    seen.length = 0; // the LISTEN connection's check of the outbox's database
    const probes = () => seen.filter((s) => s.sql.includes('SELECT 1 AS one')).length;

    expect(await lockedClaim(log)).toEqual([]); // a poll with nothing to do: the probe alone
    expect(probes()).toBe(1);
    expect(seen).toHaveLength(1);

    await addMessages(2); // committed by another client, with NOTIFY
    await eventually(() => wakes > 0, 5_000);
    seen.length = 0;
    expect(await lockedClaim(log)).toHaveLength(2);
    expect(probes()).toBe(0);

    await addMessages(1);
    await sleep(20);
    await eventually(() => wakes > 1, 5_000);
    await lockedClaim(log); // consumes the NOTIFY
    seen.length = 0;
    expect(await lockedClaim(log)).toEqual([]); // no NOTIFY since: probes again
    expect(probes()).toBe(1);
  });
});

describe('PgSqlClient transactions', () => {
  function client(poolSize = 2) {
    const sql = new PgSqlClient({
      connectionString: db.url,
      poolSize,
      maxWait: 5_000,
      logger: silentLogger,
      option: 'test',
    });
    closers.push(() => sql.close());
    return sql;
  }

  async function otherSessionLocks(id: string): Promise<boolean> {
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      const { rows } = await other.query(
        'SELECT id FROM herald_outbox WHERE id = $1 FOR UPDATE SKIP LOCKED',
        [id],
      );
      await other.query('ROLLBACK');
      return rows.length === 1;
    } finally {
      await other.end();
    }
  }

  it('commits when the work resolves and rolls back when it throws', async () => {
    const sql = client();
    const [a, b] = await addMessages(2);
    await sql.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`UPDATE herald_outbox SET status = 'published' WHERE id = $1`, a!.id);
    });
    expect(await statusOf(a!.id)).toBe('published');
    await expect(
      sql.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`UPDATE herald_outbox SET status = 'published' WHERE id = $1`, b!.id);
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    expect(await statusOf(b!.id)).toBe('pending');
    expect(await otherSessionLocks(b!.id)).toBe(true);
  });

  it('rolls back at its timeout, releasing the row locks while the work still waits, and refuses the commit', async () => {
    const sql = client();
    const [a] = await addMessages(1);
    const confirmed = signal();
    const locked = signal();
    const work = sql.$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe('SELECT id FROM herald_outbox WHERE id = $1 FOR UPDATE', a!.id);
        await tx.$executeRawUnsafe(`UPDATE herald_outbox SET status = 'published' WHERE id = $1`, a!.id);
        locked.fire();
        await confirmed.fired; // the broker's confirms, taking too long
        return 'done';
      },
      { timeout: 300 },
    );
    try {
      await locked.fired;
      expect(await otherSessionLocks(a!.id)).toBe(false);
      await sleep(600);
      expect(await otherSessionLocks(a!.id)).toBe(true); // released at the timeout
    } finally {
      confirmed.fire();
    }
    await expect(work).rejects.toMatchObject({ code: 'HERALD_RELAY_TRANSACTION_TIMEOUT' });
    expect(await statusOf(a!.id)).toBe('pending');
    // The connection went back clean: the next transaction works.
    expect(
      await sql.$transaction(async (tx) => tx.$queryRawUnsafe<{ one: number }[]>('SELECT 1 AS one')),
    ).toEqual([{ one: 1 }]);
  });

  it('refuses to report a commit when the server rolled the transaction back instead', async () => {
    const sql = client(1);
    const [a] = await addMessages(1);
    const work = sql.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`UPDATE herald_outbox SET status = 'published' WHERE id = $1`, a!.id);
      await Promise.resolve(tx.$queryRawUnsafe('SELECT 1 / 0')).catch(() => undefined); // a failed statement, swallowed
    });
    await expect(work).rejects.toMatchObject({ code: 'HERALD_RELAY_TRANSACTION_ABORTED' });
    expect(await statusOf(a!.id)).toBe('pending');
    expect(await sql.$transaction(async (tx) => tx.$queryRawUnsafe('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
  });

  it('rejects when COMMIT fails and gives its one connection back usable', async () => {
    const sql = client(1);
    const work = sql.$transaction(async (tx) => {
      // A deferred foreign key is checked at COMMIT: the commit itself fails.
      await tx.$executeRawUnsafe(
        'CREATE TEMP TABLE relay_commit_check (id int PRIMARY KEY, ref int REFERENCES relay_commit_check (id) DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP',
      );
      await tx.$executeRawUnsafe('INSERT INTO relay_commit_check VALUES (1, 2)');
    });
    await expect(work).rejects.toThrow(/foreign key/);
    expect(await sql.$transaction(async (tx) => tx.$queryRawUnsafe('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
  });

  it('drops a connection killed in the middle of a transaction and goes on with a new one', async () => {
    const sql = client(1);
    const [a] = await addMessages(1);
    const work = sql.$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
      await db.prisma.$queryRawUnsafe('SELECT pg_terminate_backend($1)', row!.pid);
      await tx.$executeRawUnsafe(`UPDATE herald_outbox SET status = 'published' WHERE id = $1`, a!.id);
    });
    await expect(work).rejects.toThrow();
    expect(await statusOf(a!.id)).toBe('pending');
    // The pool of one connection replaced it.
    await eventually(async () => {
      try {
        await sql.$transaction(async (tx) => tx.$queryRawUnsafe('SELECT 1'));
        return true;
      } catch {
        return false;
      }
    }, 5_000);
  });
});
