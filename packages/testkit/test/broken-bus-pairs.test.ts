import {
  type DistributedLock,
  type EventLog,
  type InboxStore,
  isMemoryTransaction,
  MemoryLock,
  type OutboxStore,
  type Transport,
} from '@herald/core';
import { describe, expect, it } from 'vitest';
import { type BusPair, busScenarios, runBusScenario, type ScenarioStore } from '../src/index.js';
import memoryPair from './helpers/memory-pair.js';

/**
 * Each test breaks one part of the memory + in-process pair the way a real
 * adapter could be broken, and proves that the bus scenario guarding that
 * promise rejects — and that the same scenario passes on the unbroken pair,
 * so the failure comes from the defect alone. (The crash scenarios need a
 * durable pair: their broken runs live with the PostgreSQL + RabbitMQ suite.)
 */

let runs = 0;

async function run(fragment: string, pair: BusPair): Promise<void> {
  const scenario = busScenarios.find((candidate) => candidate.name.includes(fragment));
  if (!scenario) throw new Error(`No scenario matches "${fragment}"`);
  const runId = `broken${++runs}`;
  const settings = (await pair.setup?.(runId)) ?? {};
  try {
    await runBusScenario(
      scenario,
      { pair, timeoutMs: 8_000, quietMs: 300 },
      { settings, scope: { runId, caseId: 'c01' } },
    );
  } finally {
    await pair.teardown?.(settings, []);
  }
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

interface Breakage {
  outbox?: (outbox: OutboxStore) => Partial<OutboxStore>;
  inbox?: (inbox: InboxStore) => Partial<InboxStore>;
  store?: (store: ScenarioStore) => Partial<ScenarioStore>;
  transport?: (transport: Transport) => Partial<Transport>;
  lock?: DistributedLock;
}

/** The memory pair with the given parts broken. */
function broken(name: string, breakage: Breakage): BusPair {
  return {
    ...memoryPair,
    name: `memory (${name})`,
    async createStore(settings) {
      const store = await memoryPair.createStore(settings);
      const log = store.eventLog;
      const eventLog: EventLog = {
        outbox: breakage.outbox ? override(log.outbox!, breakage.outbox(log.outbox!)) : log.outbox!,
        inbox: breakage.inbox ? override(log.inbox!, breakage.inbox(log.inbox!)) : log.inbox!,
      };
      return override({ ...store, eventLog }, breakage.store?.(store) ?? {});
    },
    async createTransport(settings, replica) {
      const transport = await memoryPair.createTransport(settings, replica);
      return breakage.transport ? override(transport, breakage.transport(transport)) : transport;
    },
    ...(breakage.lock ? { createLock: async () => breakage.lock! } : {}),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('each bus scenario fails on a pair with the defect it guards against', () => {
  it('an outbox that writes outside the caller’s transaction fails commit/rollback and the unit of work', async () => {
    const leaky = broken('outbox ignores tx', {
      outbox: (outbox) => ({ add: (messages) => outbox.add(messages) }),
    });
    await expect(run('a rolled-back one leaves nothing', leaky)).rejects.toThrow(
      'the effects are those of the published steps',
    );
    await expect(run('the unit of work', leaky)).rejects.toThrow(
      'the effects are those of the published steps',
    );
    await run('a rolled-back one leaves nothing', memoryPair);
    await run('the unit of work', memoryPair);
  });

  it('an outbox whose claims are not exclusive fails the two-relay scenario', async () => {
    const shared = broken('claims not exclusive', {
      outbox: (outbox) => ({
        claimLocked: undefined,
        async claim(request) {
          const records = await outbox.claim(request);
          // Handing the lease back at once lets the other relay claim the same records.
          await outbox.release(records.map((record) => record.message.id));
          await sleep(300);
          return records;
        },
      }),
    });
    await expect(run('two relays on one outbox', shared)).rejects.toThrow('events both relays sent');
    await run('two relays on one outbox', memoryPair);
  });

  it('an inbox whose requeue changes nothing fails the poison scenario', async () => {
    const stuck = broken('requeue is a no-op', { inbox: () => ({ requeue: async () => 0 }) });
    await expect(run('a poison message is dead-lettered', stuck)).rejects.toThrow('re-publish');
    await run('a poison message is dead-lettered', memoryPair);
  });

  it('a transport that silently drops foreign messages fails the foreign-message and __proto__ scenarios', async () => {
    const dropping = broken('drops foreign messages', {
      transport: (transport) => ({
        subscribe: (subscription, handler) =>
          transport.subscribe(subscription, (message) =>
            // The Kafka defect of issue #23: a name the group does not know is committed unseen.
            subscription.eventNames.includes(message.headers['herald-name'] ?? '') &&
            !new TextDecoder().decode(message.body).includes('__proto__')
              ? handler(message)
              : Promise.resolve({ kind: 'ack' }),
          ),
      }),
    });
    await expect(run('malformed, header-less and unknown-name', dropping)).rejects.toThrow('dead-lettered');
    // Dropped, so never handled (the swapped-prototype defect: broken-event-instantiation.test.ts).
    await expect(run('`__proto__` payload', dropping)).rejects.toThrow('the message was not handled');
    await run('malformed, header-less and unknown-name', memoryPair);
    await run('`__proto__` payload', memoryPair);
  });

  it('a transport that confirms first and sends in any order fails the per-key order scenario', async () => {
    let flip = 0;
    const unordered = broken('sends out of order', {
      transport: (transport) => ({
        async publish(messages) {
          for (const message of messages)
            setTimeout(() => void transport.publish([message]), (flip++ % 3) * 15);
          return messages.map((message) => ({ id: message.id, ok: true as const }));
        },
      }),
    });
    await expect(run('per-key order holds', unordered)).rejects.toThrow('order of key');
    await run('per-key order holds', memoryPair);
  });

  it('a store whose handler writes bypass the inbox transaction fails the ctx.tx scenario', async () => {
    const outside = broken('effects outside ctx.tx', {
      store: () => ({
        async recordEffect(tx, effect) {
          if (!isMemoryTransaction(tx)) throw new Error('not a memory transaction');
          // Written straight to the database: survives the handler's rollback.
          tx.database.put('scenario_effect', `${effect.eventId}-${effect.attempt}`, effect);
        },
      }),
    });
    await expect(run('`ctx.tx` effects commit exactly once', outside)).rejects.toThrow('more than once');
    await run('`ctx.tx` effects commit exactly once', memoryPair);
  });

  it('a lock that every replica holds at once fails the one-retry-processor scenario', async () => {
    // A fresh lock per call: every replica gets a lease for the same key.
    const everyone: DistributedLock = {
      name: 'not-exclusive',
      acquire: (key, ttlMs) => new MemoryLock().acquire(key, ttlMs),
    };
    await expect(
      run(
        'only one replica runs the inbox retry processor',
        broken('lock always granted', { lock: everyone }),
      ),
    ).rejects.toThrow('retry processor');
    await run('only one replica runs the inbox retry processor', memoryPair);
  });
});
