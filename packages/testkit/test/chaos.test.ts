import {
  InProcessBroker,
  InProcessTransport,
  MemoryInboxStore,
  MemoryOutboxStore,
  type Transport,
  type WireMessage,
} from '@herald/core';
import { describe, expect, it } from 'vitest';
import {
  ChaosError,
  ChaosInboxStore,
  ChaosOutboxStore,
  ChaosTransport,
  outboxEntry,
  shuffleAcrossKeys,
  testWireMessage,
} from '../src/index.js';
import { seededRandom } from '../src/internal/random.js';
import { waitFor } from '../src/internal/wait.js';
import { Deliveries } from '../src/suites/deliveries.js';

function keyed(count: number): WireMessage[] {
  return Array.from({ length: count }, (_, index) =>
    testWireMessage({ payload: { index }, ...(index % 5 === 4 ? {} : { orderingKey: `k${index % 3}` }) }),
  );
}

describe('shuffleAcrossKeys', () => {
  it('returns a permutation that keeps each key in order but mixes the keys', () => {
    const messages = keyed(40);
    const shuffled = shuffleAcrossKeys(messages, seededRandom(7));
    expect(new Set(shuffled.map((m) => m.id))).toEqual(new Set(messages.map((m) => m.id)));
    expect(shuffled).toHaveLength(messages.length);
    for (const key of ['k0', 'k1', 'k2']) {
      const order = (list: WireMessage[]) => list.filter((m) => m.orderingKey === key).map((m) => m.id);
      expect(order(shuffled)).toEqual(order(messages));
    }
    expect(shuffled.map((m) => m.id)).not.toEqual(messages.map((m) => m.id));
  });

  it('is deterministic for a seed', () => {
    const messages = keyed(20);
    const ids = (seed: number) => shuffleAcrossKeys(messages, seededRandom(seed)).map((m) => m.id);
    expect(ids(3)).toEqual(ids(3));
  });
});

describe('ChaosTransport', () => {
  it('reorderKeys sends a shuffled batch but reports outcomes in the input order', async () => {
    const broker = new InProcessBroker();
    const sentOrder: string[] = [];
    const inner = new InProcessTransport({ broker });
    const spy: Transport = {
      name: inner.name,
      capabilities: inner.capabilities,
      start: () => inner.start(),
      stop: () => inner.stop(),
      subscribe: (subscription, handler) => inner.subscribe(subscription, handler),
      publish: async (messages) => {
        sentOrder.push(...messages.map((m) => m.id));
        return inner.publish(messages);
      },
    };
    const chaos = new ChaosTransport(spy, { reorderKeys: true, seed: 11 });
    await chaos.start();
    const messages = keyed(30);
    const outcomes = await chaos.publish(messages);
    expect(outcomes.map((o) => o.id)).toEqual(messages.map((m) => m.id));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(sentOrder).not.toEqual(messages.map((m) => m.id));
    await chaos.stop();
  });

  it('duplicateDeliveries delivers every acknowledged message once more, after the original was handled', async () => {
    const chaos = new ChaosTransport(new InProcessTransport({ broker: new InProcessBroker() }), {
      duplicateDeliveries: true,
    });
    await chaos.start();
    const got = new Deliveries();
    let running = 0;
    let overlapped = false;
    await chaos.subscribe(
      { group: 'g', eventNames: ['testkit.event'] },
      got.handler('member', async (message, index) => {
        running++;
        if (running > 1 && message.headers['herald-ordering-key']) overlapped = true;
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        return index === 0 && message.headers['x-kind'] === 'retry'
          ? { kind: 'retry', delayMs: 5, reason: 'again' }
          : { kind: 'ack' };
      }),
    );
    const plain = testWireMessage({ orderingKey: 'k' });
    const retried = testWireMessage({ orderingKey: 'k', headers: { 'x-kind': 'retry' } });
    await chaos.publish([plain, retried]);
    await waitFor(() => got.of(plain.id).length === 2 && got.of(retried.id).length === 3, {
      timeoutMs: 2_000,
      describe: () => `plain ${got.of(plain.id).length}, retried ${got.of(retried.id).length}`,
    });
    expect(got.of(plain.id).map((d) => d.message.deliveryAttempt)).toEqual([1, 2]);
    expect(got.of(plain.id)[1]!.receivedAt).toBeGreaterThanOrEqual(got.of(plain.id)[0]!.disposedAt);
    expect(overlapped).toBe(false);
    expect(chaos.duplicatedDeliveries).toBe(2);
    await chaos.stop();
  });
});

describe('ChaosOutboxStore', () => {
  it('fails markPublished once for chosen records, marking nothing in that call, then lets it through', async () => {
    const inner = new MemoryOutboxStore();
    const store = new ChaosOutboxStore(inner, { crashBetweenPublishAndMark: true, crashRate: 1 });
    const messages = [testWireMessage(), testWireMessage()];
    await store.add(messages.map(outboxEntry));
    const now = new Date();
    await store.claim({ limit: 10, leaseMs: 60_000, owner: 'relay', now });
    const ids = messages.map((m) => m.id);
    await expect(store.markPublished(ids, now)).rejects.toBeInstanceOf(ChaosError);
    expect(await inner.list({ status: 'published' })).toEqual([]);
    expect([...store.crashedIds].sort()).toEqual([...ids].sort());
    await store.markPublished(ids, now);
    expect(await inner.list({ status: 'published' })).toHaveLength(2);
  });

  it('with crashRate 0 never fails, and picks the same records for the same seed', async () => {
    const never = new ChaosOutboxStore(new MemoryOutboxStore(), {
      crashBetweenPublishAndMark: true,
      crashRate: 0,
    });
    await expect(never.markPublished([testWireMessage().id], new Date())).resolves.toBeUndefined();

    const ids = Array.from({ length: 40 }, () => testWireMessage().id);
    const victims = async (seed: number) => {
      const store = new ChaosOutboxStore(new MemoryOutboxStore(), { crashBetweenPublishAndMark: true, seed });
      for (const id of ids) await store.markPublished([id], new Date()).catch(() => undefined);
      return [...store.crashedIds];
    };
    const first = await victims(5);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(ids.length);
    expect(await victims(5)).toEqual(first);
  });
});

describe('ChaosInboxStore', () => {
  it('fails complete once per handling, so the transaction rolls back and a redelivery begins again', async () => {
    const store = new ChaosInboxStore(new MemoryInboxStore(), { crashAfterHandler: true });
    const key = { messageId: testWireMessage().id, handler: 'h' };
    const begin = () => ({ ...key, eventName: 'e', orderingKey: null, leaseMs: 60_000, now: new Date() });
    const handle = () =>
      store.transaction(async (tx) => {
        expect(await store.tryBegin(begin(), tx)).toBe('begun');
        await store.complete(key, new Date(), tx);
      });
    await expect(handle()).rejects.toBeInstanceOf(ChaosError);
    await handle();
    expect(await store.tryBegin(begin())).toBe('duplicate');
    expect([...store.crashedHandlings]).toEqual([`h/${key.messageId}`]);
  });
});

describe('chaos wrappers forward optional port members', () => {
  it('keeps onWake, backlog, purge, readDeadLetters and health of the wrapped adapters', async () => {
    const outbox = new ChaosOutboxStore(new MemoryOutboxStore(), { crashBetweenPublishAndMark: true });
    expect(typeof outbox.onWake).toBe('function');
    const inner = new InProcessTransport({ broker: new InProcessBroker() });
    const transport = new ChaosTransport(inner, { reorderKeys: true });
    expect(typeof transport.readDeadLetters).toBe('function');
    expect(await transport.readDeadLetters!('nobody', 10)).toEqual([]);
    for (const [wrapper, wrapped, member] of [
      [outbox, outbox.inner, 'backlog'],
      [outbox, outbox.inner, 'purge'],
      [new ChaosInboxStore(new MemoryInboxStore(), {}), new MemoryInboxStore(), 'purge'],
      [transport, inner, 'health'],
    ] as const) {
      expect(typeof (wrapper as unknown as Record<string, unknown>)[member], member).toBe(
        typeof (wrapped as unknown as Record<string, unknown>)[member],
      );
    }
  });
});
