import {
  type DistributedLock,
  type InboxStore,
  InProcessBroker,
  InProcessTransport,
  MemoryDatabase,
  MemoryInboxStore,
  MemoryLock,
  MemoryOutboxStore,
  type OutboxStore,
  type Transport,
  type WireMessage,
} from '@herald/core';
import { describe, expect, it } from 'vitest';
import {
  CaseSkipped,
  type ConformanceCase,
  inboxStoreCases,
  lockCases,
  outboxStoreCases,
  runInboxStoreCase,
  runLockCase,
  runOutboxStoreCase,
  runTransportCase,
  transportCases,
} from '../src/index.js';

/**
 * Each test wraps a correct in-memory adapter in a deliberately broken one
 * and proves that the conformance case guarding that behaviour rejects —
 * and that the same case passes on the unbroken adapter, so the failure is
 * caused by the defect and nothing else.
 */

function caseNamed<C>(cases: readonly ConformanceCase<C>[], fragment: string): ConformanceCase<C> {
  const found = cases.find((testCase) => testCase.name.includes(fragment));
  if (!found) throw new Error(`No case matches "${fragment}"`);
  return found;
}

/** The inner object with some members replaced (methods keep their own `this`). */
function override<T extends object>(inner: T, overrides: Partial<T>): T {
  return new Proxy(inner, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function memoryOutbox(broken: (store: MemoryOutboxStore, database: MemoryDatabase) => OutboxStore) {
  return async () => {
    const database = new MemoryDatabase();
    const store = new MemoryOutboxStore({ database });
    return {
      store: broken(store, database),
      transaction: <T>(work: (tx: unknown) => Promise<T>) => database.transaction(work),
    };
  };
}

describe('the outbox suite catches broken stores', () => {
  const correct = memoryOutbox((store) => store);

  it('a store whose claim ignores leases fails the lease and concurrency cases', async () => {
    const leaseless = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        async claim(request) {
          const records = await store.claim(request);
          await store.release(records.map((record) => record.message.id));
          return records;
        },
      }),
    );
    for (const fragment of ['not claimed again until its lease expires', 'concurrent claims never return']) {
      const testCase = caseNamed(outboxStoreCases, fragment);
      await expect(runOutboxStoreCase(testCase, leaseless)).rejects.toThrow();
      await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
    }
  });

  it('a store that leases on an exclusive claim fails the exclusive-claim case', async () => {
    const leasing = memoryOutbox((store) =>
      override<OutboxStore>(store, { claim: (request) => store.claim({ ...request, exclusive: false }) }),
    );
    const testCase = caseNamed(outboxStoreCases, 'an exclusive claim leases nothing');
    await expect(runOutboxStoreCase(testCase, leasing)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store whose exclusive claim ignores live leases fails the lease-respecting case', async () => {
    const careless = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        async claim(request) {
          if (request.exclusive) {
            const open = await store.list({ status: 'pending', limit: 10_000 });
            await store.release(open.map((record) => record.message.id));
          }
          return store.claim(request);
        },
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'an exclusive claim skips records under a live lease');
    await expect(runOutboxStoreCase(testCase, careless)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a claimLocked that does not hold its rows fails the locked-claim case', async () => {
    const unlocked = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        async claimLocked(request, send) {
          const records = await store.claim({ ...request, exclusive: true });
          const outcome = await send(records);
          await store.markPublished(outcome.published, request.now);
          return records;
        },
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'claimLocked (optional) holds its records while sending');
    await expect(runOutboxStoreCase(testCase, unlocked)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store that ignores fencing tokens fails the fencing cases', async () => {
    const unfenced = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        claim: ({ fence: _fence, ...request }) => store.claim(request),
        claimLocked: ({ fence: _fence, ...request }, send) => store.claimLocked(request, send),
        markPublished: (ids, now) => store.markPublished(ids, now),
        markFailed: (failures, now) => store.markFailed(failures, now),
        release: (ids) => store.release(ids),
      }),
    );
    for (const fragment of [
      'fencing: a claim with an older token',
      'fencing: markPublished, markFailed and release',
      'fencing: claimLocked (optional)',
    ]) {
      const testCase = caseNamed(outboxStoreCases, fragment);
      await expect(runOutboxStoreCase(testCase, unfenced)).rejects.toThrow();
      await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
    }
  });

  it('a store that checks only the claim, not the marks, fails the marks case', async () => {
    const claimOnly = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        markPublished: (ids, now) => store.markPublished(ids, now),
        markFailed: (failures, now) => store.markFailed(failures, now),
        release: (ids) => store.release(ids),
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'fencing: markPublished, markFailed and release');
    await expect(runOutboxStoreCase(testCase, claimOnly)).rejects.toThrow();
  });

  it('a store that keeps tokens as JavaScript numbers fails the fencing cases', async () => {
    const rounded = memoryOutbox((store) => {
      const round = <T extends { fence?: { lock: string; token: bigint } }>(request: T): T =>
        request.fence
          ? { ...request, fence: { ...request.fence, token: BigInt(Number(request.fence.token)) } }
          : request;
      return override<OutboxStore>(store, { claim: (request) => store.claim(round(request)) });
    });
    const testCase = caseNamed(outboxStoreCases, 'fencing: a claim with an older token');
    await expect(runOutboxStoreCase(testCase, rounded)).rejects.toThrow();
  });

  it('a claimLocked that marks before the broker confirmed fails the rollback case', async () => {
    const eager = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        async claimLocked(request, send) {
          const records = await store.claim({ ...request, exclusive: true });
          await store.markPublished(
            records.map((record) => record.message.id),
            request.now,
          );
          await send(records);
          return records;
        },
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'claimLocked (optional): when sending fails');
    await expect(runOutboxStoreCase(testCase, eager)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store that claims commit wake-ups but fires them early, on rollback or never fails the wakesOnCommit case', async () => {
    /** A memory store with commit wake-ups; `fire` says when a transaction that added records wakes. */
    function waking(fire: 'on commit' | 'on add' | 'also on rollback' | 'never') {
      return async () => {
        const database = new MemoryDatabase();
        const inner = new MemoryOutboxStore({ database });
        const listeners = new Set<() => void>();
        const wake = () => {
          for (const listener of listeners) listener();
        };
        let added = false;
        const store = override<OutboxStore>(inner, {
          wakesOnCommit: () => true,
          onWake: (listener) => {
            listeners.add(listener);
            return () => void listeners.delete(listener);
          },
          add: async (messages, tx) => {
            await inner.add(messages, tx);
            added = true;
            if (fire === 'on add') wake();
          },
        });
        const transaction = async <T>(work: (tx: unknown) => Promise<T>): Promise<T> => {
          added = false;
          try {
            const result = await database.transaction(work);
            if (added && fire !== 'never') wake();
            return result;
          } catch (error) {
            if (added && fire === 'also on rollback') wake();
            throw error;
          }
        };
        return { store, transaction };
      };
    }
    const testCase = caseNamed(outboxStoreCases, 'wakesOnCommit (optional)');
    for (const broken of ['on add', 'also on rollback', 'never'] as const) {
      await expect(runOutboxStoreCase(testCase, waking(broken)), broken).rejects.toThrow();
    }
    await expect(runOutboxStoreCase(testCase, waking('on commit'))).resolves.toBeUndefined();
    // The memory store wakes at the commit itself.
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
    const without = memoryOutbox((store) => override<OutboxStore>(store, { wakesOnCommit: undefined }));
    const skipped: string[] = [];
    await runOutboxStoreCase(testCase, without, (reason) => void skipped.push(reason));
    expect(skipped, 'no wake-ups at all: skipped, not passed').toEqual([
      'the store has no commit wake-ups (wakesOnCommit)',
    ]);
  }, 30_000);

  it('a store that writes at once, ignoring the transaction, fails the rollback case', async () => {
    const eager = memoryOutbox((store) =>
      override<OutboxStore>(store, { add: (messages) => store.add(messages) }),
    );
    const testCase = caseNamed(outboxStoreCases, 'rolls back leaves nothing behind');
    await expect(runOutboxStoreCase(testCase, eager)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store that ignores ordering keys fails the per-key order case', async () => {
    const unordered = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        add: (messages, tx) =>
          store.add(
            messages.map(({ message, bucket }) => {
              const { orderingKey: _dropped, ...rest } = message;
              return { message: rest as WireMessage, bucket };
            }),
            tx,
          ),
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'blocks later records of its ordering key');
    await expect(runOutboxStoreCase(testCase, unordered)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store that drops the delivery time of a delayed record fails both delayed-publish cases', async () => {
    const eager = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        add: (messages, tx) =>
          store.add(
            messages.map(({ message, bucket }) => ({ message, bucket })),
            tx,
          ),
      }),
    );
    for (const fragment of ['a delayed record (added with nextAttemptAt)', 'a delayed record not yet due']) {
      const testCase = caseNamed(outboxStoreCases, fragment);
      await expect(runOutboxStoreCase(testCase, eager), fragment).rejects.toThrow();
      await expect(runOutboxStoreCase(testCase, correct), fragment).resolves.toBeUndefined();
    }
  });

  it('a store that never makes a delayed record due fails the delayed-publish case', async () => {
    const never = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        add: (messages, tx) =>
          store.add(
            messages.map((entry) =>
              entry.nextAttemptAt ? { ...entry, nextAttemptAt: new Date(8.64e15) } : entry,
            ),
            tx,
          ),
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'a delayed record (added with nextAttemptAt)');
    await expect(runOutboxStoreCase(testCase, never)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store whose backlog dates delayed records from their creation fails the delayed backlog case', async () => {
    const byCreation = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        backlog: async () => {
          const open = (await store.list({ limit: 10_000 })).filter(
            (record) => record.status === 'pending' || record.status === 'failed',
          );
          return { pending: open.length, oldestCreatedAt: open[0]?.createdAt ?? null };
        },
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'backlog (optional) counts a delayed record');
    await expect(runOutboxStoreCase(testCase, byCreation)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store whose delayed records do not hold back their key fails the delayed per-key case', async () => {
    // The delayed record loses its ordering key, so nothing ties its successors to it.
    const unblocking = memoryOutbox((store) =>
      override<OutboxStore>(store, {
        add: (messages, tx) =>
          store.add(
            messages.map((entry) => {
              if (!entry.nextAttemptAt) return entry;
              const { orderingKey: _dropped, ...rest } = entry.message;
              return { ...entry, message: rest as WireMessage };
            }),
            tx,
          ),
      }),
    );
    const testCase = caseNamed(outboxStoreCases, 'a delayed record not yet due blocks later records');
    await expect(runOutboxStoreCase(testCase, unblocking)).rejects.toThrow();
    await expect(runOutboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });
});

describe('the inbox suite catches broken stores', () => {
  const correct = async () => ({ store: new MemoryInboxStore() as InboxStore });

  it("a store whose tryBegin always answers 'begun' fails the dedup and concurrency cases", async () => {
    const forgetful = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, {
          async tryBegin(key, tx) {
            await store.tryBegin(key, tx);
            return 'begun';
          },
        }),
      };
    };
    for (const fragment of [
      "'duplicate' once the handling completed",
      'exactly one begins',
      "answers 'busy'",
    ]) {
      const testCase = caseNamed(inboxStoreCases, fragment);
      await expect(runInboxStoreCase(testCase, forgetful)).rejects.toThrow();
      await expect(runInboxStoreCase(testCase, correct)).resolves.toBeUndefined();
    }
  });

  it("a store whose beginMany always answers 'begun' fails the batch dedup and concurrency cases", async () => {
    const forgetful = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, {
          async beginMany(entries, tx) {
            await store.beginMany(entries, tx);
            return entries.map(() => 'begun' as const);
          },
        }),
      };
    };
    for (const fragment of ['answers per entry in input order', 'each key begins exactly once']) {
      const testCase = caseNamed(inboxStoreCases, fragment);
      await expect(runInboxStoreCase(testCase, forgetful)).rejects.toThrow();
      await expect(runInboxStoreCase(testCase, correct)).resolves.toBeUndefined();
    }
  });

  it('a store whose beginMany writes outside the transaction fails the rollback case', async () => {
    const leaky = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, { beginMany: (entries) => store.beginMany(entries, undefined) }),
      };
    };
    const testCase = caseNamed(inboxStoreCases, 'rolls back leaves nothing');
    await expect(runInboxStoreCase(testCase, leaky)).rejects.toThrow();
    await expect(runInboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store whose beginMany answers in another order fails the input-order case', async () => {
    const shuffled = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, {
          beginMany: async (entries, tx) => (await store.beginMany(entries, tx)).reverse(),
        }),
      };
    };
    const testCase = caseNamed(inboxStoreCases, 'answers per entry in input order');
    await expect(runInboxStoreCase(testCase, shuffled)).rejects.toThrow();
  });

  it('a store whose blockedChains never sees a parked chain fails the blockedChains case', async () => {
    const blind = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, { blockedChains: async (chains) => chains.map(() => false) }),
      };
    };
    const testCase = caseNamed(inboxStoreCases, 'blockedChains: true per chain');
    await expect(runInboxStoreCase(testCase, blind)).rejects.toThrow();
    await expect(runInboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store whose park overwrites existing entries or counts an attempt fails the parking case', async () => {
    for (const broken of [
      (store: MemoryInboxStore): Partial<InboxStore> => ({
        park: (parking, now) =>
          store.fail({ ...parking, attempts: 0, error: 'waiting', nextAttemptAt: now }, now),
      }),
      (store: MemoryInboxStore): Partial<InboxStore> => ({
        park: (parking, now) =>
          store.fail({ ...parking, attempts: 1, error: 'waiting', nextAttemptAt: now }, now),
      }),
    ]) {
      const create = async () => {
        const store = new MemoryInboxStore();
        return { store: override<InboxStore>(store, broken(store)) };
      };
      await expect(
        runInboxStoreCase(caseNamed(inboxStoreCases, 'park stores a waiting message'), create),
      ).rejects.toThrow();
    }
    await expect(
      runInboxStoreCase(caseNamed(inboxStoreCases, 'park stores a waiting message'), correct),
    ).resolves.toBeUndefined();
  });

  it('a store whose claimDue ignores fencing tokens, or keeps them as numbers, fails the fencing case', async () => {
    const testCase = caseNamed(inboxStoreCases, 'fencing: claimDue with an older token');
    const unfenced = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, {
          claimDue: ({ fence: _fence, ...request }) => store.claimDue(request),
        }),
      };
    };
    await expect(runInboxStoreCase(testCase, unfenced)).rejects.toThrow('the old holder’s claim is refused');
    // Tokens above 2^53 collapse to one double: the old holder's token looks as new as the newest.
    const rounding = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, {
          claimDue: (request) =>
            store.claimDue(
              request.fence
                ? { ...request, fence: { ...request.fence, token: BigInt(Number(request.fence.token)) } }
                : request,
            ),
        }),
      };
    };
    await expect(runInboxStoreCase(testCase, rounding)).rejects.toThrow('the old holder’s claim is refused');
    await expect(runInboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store whose complete ignores the fencing token fails the fencing complete case', async () => {
    const testCase = caseNamed(inboxStoreCases, 'fencing: complete with an older token');
    const unfenced = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, {
          complete: (key, now, tx) => store.complete(key, now, tx),
        }),
      };
    };
    await expect(runInboxStoreCase(testCase, unfenced)).rejects.toThrow(
      'the old holder’s complete is refused',
    );
    await expect(runInboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });

  it('a store whose claimDue ignores leases fails the claimDue case', async () => {
    const leaseless = async () => {
      const store = new MemoryInboxStore();
      return {
        store: override<InboxStore>(store, {
          claimDue: (request) => store.claimDue({ ...request, leaseMs: 0 }),
        }),
      };
    };
    const testCase = caseNamed(inboxStoreCases, 'respects limit and leases');
    await expect(runInboxStoreCase(testCase, leaseless)).rejects.toThrow();
    await expect(runInboxStoreCase(testCase, correct)).resolves.toBeUndefined();
  });
});

describe('the transport suite catches broken transports', () => {
  const fast = { timeoutMs: 1_000, quietMs: 100 };

  function inProcess(broken: (transport: InProcessTransport) => Transport) {
    const broker = new InProcessBroker();
    return { ...fast, create: async () => broken(new InProcessTransport({ broker })) };
  }

  it('a transport that silently drops every 10th message fails the batch case', async () => {
    const lossy = inProcess((transport) => {
      let count = 0;
      return override<Transport>(transport, {
        async publish(messages) {
          const kept = messages.filter(() => ++count % 10 !== 0);
          await transport.publish(kept);
          return messages.map((message) => ({ id: message.id, ok: true as const }));
        },
      });
    });
    const testCase = caseNamed(transportCases, 'a batch of 500');
    await expect(runTransportCase(testCase, lossy)).rejects.toThrow(/never delivered/);
    await expect(
      runTransportCase(
        testCase,
        inProcess((t) => t),
      ),
    ).resolves.toBeUndefined();
  });

  it('a transport that reorders a key while claiming orderedByKey fails the ordering case', async () => {
    const shuffling = inProcess((transport) =>
      override<Transport>(transport, {
        async publish(messages) {
          const outcomes = await transport.publish([...messages].reverse());
          return [...outcomes].reverse();
        },
      }),
    );
    const testCase = caseNamed(transportCases, 'in publish order');
    await expect(runTransportCase(testCase, shuffling)).rejects.toThrow(/order of key/);
    await expect(
      runTransportCase(
        testCase,
        inProcess((t) => t),
      ),
    ).resolves.toBeUndefined();
  });

  it('a transport that changes headers fails the round-trip case', async () => {
    const lossyHeaders = inProcess((transport) =>
      override<Transport>(transport, {
        publish: (messages) =>
          transport.publish(
            messages.map((message) => ({ ...message, headers: { ...message.headers, 'x-note': 'changed' } })),
          ),
      }),
    );
    const testCase = caseNamed(transportCases, 'exactly the headers and body bytes');
    await expect(runTransportCase(testCase, lossyHeaders)).rejects.toThrow();
  });

  it('a transport that drops names the group did not subscribe to, or marks a dedicated channel shared, fails the dedicated-channel case', async () => {
    const dropsUnknown = inProcess((transport) =>
      override<Transport>(transport, {
        subscribe: (subscription, handler) =>
          transport.subscribe(subscription, async (message) =>
            subscription.eventNames.includes(message.headers['herald-name'] ?? '')
              ? handler(message)
              : { kind: 'ack' },
          ),
      }),
    );
    const marksShared = inProcess((transport) =>
      override<Transport>(transport, {
        subscribe: (subscription, handler) =>
          transport.subscribe(subscription, (message) => handler({ ...message, channelShared: true })),
      }),
    );
    const testCase = caseNamed(transportCases, 'misrouted onto its channel');
    await expect(runTransportCase(testCase, dropsUnknown)).rejects.toThrow(/never delivered/);
    await expect(runTransportCase(testCase, marksShared)).rejects.toThrow(
      /channelShared on a dedicated channel/,
    );
    await expect(
      runTransportCase(
        testCase,
        inProcess((t) => t),
      ),
    ).resolves.toBeUndefined();
  });

  it('a transport that does not mark a shared channel fails the shared-channel case; without createShared it is skipped', async () => {
    const testCase = caseNamed(transportCases, 'on a channel shared by several event names');
    const broker = new InProcessBroker();
    // The in-process broker routes by name, so this stand-in re-labels every message with the subscribed name.
    const unmarked = {
      ...fast,
      create: async () => new InProcessTransport({ broker }) as Transport,
      createShared: async () => {
        const transport = new InProcessTransport({ broker });
        return override<Transport>(transport, {
          publish: (messages) =>
            transport.publish(messages.map((message) => ({ ...message, name: 'testkit.shared-channel' }))),
          subscribe: (subscription, handler) =>
            transport.subscribe({ ...subscription, eventNames: ['testkit.shared-channel'] }, handler),
        });
      },
    };
    await expect(runTransportCase(testCase, unmarked)).rejects.toThrow(/channelShared of/);
    await expect(
      runTransportCase(
        testCase,
        inProcess((t) => t),
      ),
    ).rejects.toThrow(CaseSkipped);
  });
});

describe('the lock suite catches broken locks', () => {
  const correct = () => {
    const lock = new MemoryLock();
    return { create: async () => lock as DistributedLock, shortTtlMs: 100 };
  };

  it('a lock that never excludes fails the exclusivity and race cases', async () => {
    const lock = new MemoryLock();
    let next = 0;
    const permissive = override<DistributedLock>(lock, {
      async acquire(key, ttlMs) {
        const lease = await lock.acquire(`${key}#${++next}`, ttlMs);
        return lease && { ...lease, key, extend: lease.extend, release: lease.release };
      },
    });
    for (const fragment of ['cannot be acquired again', 'exactly one wins']) {
      const testCase = caseNamed(lockCases, fragment);
      await expect(
        runLockCase(testCase, { create: async () => permissive, shortTtlMs: 100 }),
      ).rejects.toThrow();
      await expect(runLockCase(testCase, correct())).resolves.toBeUndefined();
    }
  });

  it('a lock whose fencing token does not increase fails the fencing case', async () => {
    const lock = new MemoryLock();
    const constant = override<DistributedLock>(lock, {
      async acquire(key, ttlMs) {
        const lease = await lock.acquire(key, ttlMs);
        return (
          lease && {
            key,
            fencingToken: 1n,
            expiresAt: lease.expiresAt,
            extend: lease.extend,
            release: lease.release,
          }
        );
      },
    });
    const testCase = caseNamed(lockCases, 'fencing tokens strictly increase');
    await expect(runLockCase(testCase, { create: async () => constant, shortTtlMs: 100 })).rejects.toThrow();
    await expect(runLockCase(testCase, correct())).resolves.toBeUndefined();
  });
});
