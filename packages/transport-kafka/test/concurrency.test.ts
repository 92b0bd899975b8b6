import type { DeliveryHandler, Disposition, IncomingMessage } from '@herald/core';
import { payloadOfTestMessage, testWireMessage } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaTransport } from '../src/index.js';
import { deleteRunTopics, rawKafka, requireBroker, runId, sleep, testTransport, waitFor } from './helpers.js';

beforeAll(requireBroker);
const admin = rawKafka().admin();
beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());
afterAll(deleteRunTopics);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch(() => undefined);
});

/** One partition, so every key shares it: concurrency can only come from handling across keys. */
async function singlePartition(overrides: Parameters<typeof testTransport>[0] = {}): Promise<KafkaTransport> {
  const transport = testTransport({ topics: { numPartitions: 1 }, ...overrides });
  cleanups.push(() => transport.stop());
  await transport.start();
  return transport;
}

let counter = 0;
function names() {
  counter += 1;
  return { name: `kafka-conc.${runId}-${counter}`, group: `g-${runId}-conc-${counter}` };
}

const ACK: Disposition = { kind: 'ack' };
const indexOf = (message: IncomingMessage) => payloadOfTestMessage<{ index: number }>(message.body).index;

/** The group's committed offset of partition 0 (-1 when nothing is committed). */
async function committed(transport: KafkaTransport, group: string, name: string): Promise<number> {
  const [topic] = await admin.fetchOffsets({ groupId: group, topics: [transport.options.topicFor(name)] });
  return Number(topic!.partitions.find((partition) => partition.partition === 0)!.offset);
}

describe('concurrent handling across keys within one partition', () => {
  it("the handler of key A waits for key B's handler, both on one partition; per-key order is kept", async () => {
    const { name, group } = names();
    const transport = await singlePartition();
    // A0 is first in the partition and holds until B has been handled: sequential handling would hang here.
    const sent = [
      testWireMessage({ name, orderingKey: 'A', payload: { index: 0 } }),
      testWireMessage({ name, orderingKey: 'B', payload: { index: 1 } }),
      testWireMessage({ name, orderingKey: 'A', payload: { index: 2 } }),
      testWireMessage({ name, orderingKey: 'B', payload: { index: 3 } }),
    ];
    const seen: Array<{ key: string; index: number; phase: 'start' | 'end' }> = [];
    let bHandled = false;
    const active = new Map<string, number>();
    let overlap = 0;
    const handler: DeliveryHandler = async (message) => {
      const key = message.headers['herald-ordering-key']!;
      const index = indexOf(message);
      if ((active.get(key) ?? 0) > 0) overlap++;
      active.set(key, (active.get(key) ?? 0) + 1);
      seen.push({ key, index, phase: 'start' });
      if (index === 0)
        await waitFor(
          () => bHandled,
          10_000,
          () => "key B's handler never ran while A0 waited",
        );
      if (key === 'B') bHandled = true;
      await sleep(5);
      active.set(key, active.get(key)! - 1);
      seen.push({ key, index, phase: 'end' });
      return ACK;
    };
    await transport.subscribe({ group, eventNames: [name] }, handler);
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => seen.filter((event) => event.phase === 'end').length >= 4,
      15_000,
      () => `handled ${seen.filter((event) => event.phase === 'end').length} of 4`,
    );
    const ends = seen.filter((event) => event.phase === 'end');
    expect(ends.filter((event) => event.key === 'A').map((event) => event.index)).toEqual([0, 2]);
    expect(ends.filter((event) => event.key === 'B').map((event) => event.index)).toEqual([1, 3]);
    // B1 ended before A0 did: the two keys really ran at the same time.
    expect(ends.findIndex((event) => event.index === 1)).toBeLessThan(
      ends.findIndex((event) => event.index === 0),
    );
    expect(overlap, 'two records of one key overlapped').toBe(0);
  }, 30_000);

  it('offsets are committed only up to the lowest unfinished record, then past it once it is handled', async () => {
    const { name, group } = names();
    const transport = await singlePartition({ consumer: { autoCommitThreshold: 1, autoCommitInterval: 50 } });
    const sent = [
      testWireMessage({ name, orderingKey: 'slow', payload: { index: 0 } }),
      ...Array.from({ length: 20 }, (_, index) =>
        testWireMessage({ name, orderingKey: `fast-${index}`, payload: { index: index + 1 } }),
      ),
    ];
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled = new Set<number>();
    await transport.subscribe({ group, eventNames: [name] }, async (message) => {
      const index = indexOf(message);
      if (index === 0) await released;
      handled.add(index);
      return ACK;
    });
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => handled.size >= 20,
      15_000,
      () => `handled ${handled.size} of the 20 fast records`,
    );
    await sleep(500);
    // Twenty records after it are handled, but the slow first record is not: nothing may be committed past it.
    expect(handled.has(0)).toBe(false);
    expect(await committed(transport, group, name)).toBeLessThanOrEqual(0);
    release();
    await waitFor(
      async () => (await committed(transport, group, name)) === sent.length,
      15_000,
      () => 'the offsets were not committed after the slow record was handled',
    );
  }, 30_000);

  it("a 'retry' stops the batch before later records of its key; records of other keys handled after it come again", async () => {
    const { name, group } = names();
    const transport = await singlePartition();
    const sent = [
      testWireMessage({ name, orderingKey: 'K', payload: { index: 0 } }),
      testWireMessage({ name, orderingKey: 'other', payload: { index: 1 } }),
      testWireMessage({ name, orderingKey: 'K', payload: { index: 2 } }),
    ];
    const order: Array<{ index: number; attempt: number }> = [];
    let retried = false;
    await transport.subscribe({ group, eventNames: [name] }, async (message) => {
      const index = indexOf(message);
      order.push({ index, attempt: message.deliveryAttempt });
      if (index === 0 && !retried) {
        retried = true;
        await sleep(50); // lets the other key's record finish meanwhile
        return { kind: 'retry', delayMs: 200, reason: 'test: transient' };
      }
      return ACK;
    });
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => order.some((item) => item.index === 2),
      15_000,
      () => `deliveries so far ${JSON.stringify(order)}`,
    );
    await sleep(300);
    const ofK = order.filter((item) => item.index !== 1);
    expect(ofK, 'the later record of key K overtook the retried one').toEqual([
      { index: 0, attempt: 1 },
      { index: 0, attempt: 2 },
      { index: 2, attempt: 1 },
    ]);
    // The record of the other key was handled before the retry stopped the batch and is redelivered with it.
    expect(order.filter((item) => item.index === 1).length).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('bounds the records with core at once by consumer.concurrency', async () => {
    const { name, group } = names();
    const transport = await singlePartition({ consumer: { concurrency: 3 } });
    const sent = Array.from({ length: 30 }, (_, index) => testWireMessage({ name, payload: { index } }));
    let running = 0;
    let peak = 0;
    let done = 0;
    await transport.subscribe({ group, eventNames: [name] }, async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(10);
      running--;
      done++;
      return ACK;
    });
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => done >= 30,
      15_000,
      () => `handled ${done} of 30`,
    );
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak, 'records without key ran concurrently').toBeGreaterThan(1);
  }, 30_000);
});
