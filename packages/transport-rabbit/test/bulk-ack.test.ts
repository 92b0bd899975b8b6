import type { DeliveryHandler } from '@herald/core';
import { testWireMessage } from '@herald/testkit';
import { type Channel, type ChannelModel, connect, type Message } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitMqTransport } from '../src/index.js';
import { rabbitUrl, requireRabbit, TestBroker, unique, waitUntil } from './helpers.js';

beforeAll(requireRabbit);

const broker = new TestBroker();
let raw: ChannelModel;
let inspect: Channel;
beforeAll(async () => {
  raw = await connect(rabbitUrl);
  raw.on('error', () => undefined);
  inspect = await raw.createChannel();
});
afterAll(async () => {
  await raw?.close().catch(() => undefined);
  await broker.cleanup();
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function started(transport: RabbitMqTransport): Promise<RabbitMqTransport> {
  cleanups.push(() => transport.stop());
  await transport.start();
  return transport;
}

/**
 * Counts the `basic.ack` frames every amqplib channel of this process sends
 * (the transport's included), by wrapping amqplib's own `Channel#ack`.
 */
function countAckFrames() {
  const proto = Object.getPrototypeOf(inspect) as { ack: (message: Message, allUpTo?: boolean) => void };
  const original = proto.ack;
  const frames: Array<{ tag: number; multiple: boolean }> = [];
  proto.ack = function (this: Channel, message: Message, allUpTo?: boolean) {
    frames.push({ tag: message.fields.deliveryTag, multiple: allUpTo === true });
    return original.call(this, message, allUpTo);
  };
  cleanups.push(async () => {
    proto.ack = original;
  });
  return frames;
}

/** Ready messages left in a queue once nothing holds them unacknowledged. */
async function readyIn(queue: string): Promise<number> {
  return (await inspect.checkQueue(queue)).messageCount;
}

describe('bulk acknowledgements', () => {
  it('1000 deliveries acked with few basic.ack frames (multiple), none left in the queue', async () => {
    const frames = countAckFrames();
    const transport = await started(broker.transport());
    const name = unique('bulk');
    const group = unique('bulk-group');
    const seen = new Set<string>();
    const handler: DeliveryHandler = async (message) => {
      seen.add(message.headers['herald-id']!);
      return { kind: 'ack' };
    };
    await transport.subscribe({ group, eventNames: [name] }, handler);
    const sent = Array.from({ length: 1000 }, (_, index) => testWireMessage({ name, payload: { index } }));
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitUntil(
      () => seen.size >= 1000,
      20_000,
      () => `delivered ${seen.size} of 1000`,
    );
    const queue = transport.topology.queuesOf(group).queue;
    await transport.stop();
    // Anything not acknowledged would be back in the queue once the channel is closed.
    expect(await readyIn(queue)).toBe(0);
    expect(frames.length, 'ack frames for 1000 deliveries').toBeLessThan(200);
    expect(frames.some((frame) => frame.multiple)).toBe(true);
  }, 40_000);

  it('a slow delivery does not hold back the acks of the ones after it for long, and is acked itself', async () => {
    const frames = countAckFrames();
    const transport = await started(broker.transport());
    const name = unique('slow');
    const group = unique('slow-group');
    const sent = Array.from({ length: 50 }, (_, index) => testWireMessage({ name, payload: { index } }));
    const slowId = sent[0]!.id;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seen = new Set<string>();
    await transport.subscribe({ group, eventNames: [name] }, async (message) => {
      const id = message.headers['herald-id']!;
      if (id === slowId) await released;
      seen.add(id);
      return { kind: 'ack' };
    });
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitUntil(
      () => seen.size >= 49,
      20_000,
      () => `delivered ${seen.size} of 49`,
    );
    // The 49 behind the slow first one are acknowledged (one by one, after the hold) while it still runs.
    await waitUntil(
      () => frames.length >= 49,
      5_000,
      () => `${frames.length} ack frames while the first delivery is still being handled`,
    );
    expect(frames.every((frame) => !frame.multiple)).toBe(true);
    release();
    await waitUntil(
      () => frames.length >= 50,
      5_000,
      () => 'the slow delivery was not acknowledged',
    );
    const queue = transport.topology.queuesOf(group).queue;
    await transport.stop();
    expect(await readyIn(queue)).toBe(0);
  }, 40_000);

  it('a consumer stopped mid-stream and started again: nothing is lost, the queue ends empty', async () => {
    const name = unique('restart');
    const group = unique('restart-group');
    const publisher = await started(broker.transport());
    const seen = new Map<string, number>();
    const handler: DeliveryHandler = async (message) => {
      const id = message.headers['herald-id']!;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      return { kind: 'ack' };
    };
    const first = broker.transport();
    await first.start();
    await first.subscribe({ group, eventNames: [name] }, handler);
    const sent = Array.from({ length: 600 }, (_, index) => testWireMessage({ name, payload: { index } }));
    expect((await publisher.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitUntil(
      () => seen.size >= 150,
      20_000,
      () => `delivered ${seen.size} before the stop`,
    );
    await first.stop();
    const second = await started(broker.transport());
    await second.subscribe({ group, eventNames: [name] }, handler);
    await waitUntil(
      () => seen.size >= 600,
      20_000,
      () => `delivered ${seen.size} of 600`,
    );
    const lost = sent.filter((message) => !seen.has(message.id));
    expect(lost).toEqual([]);
    // A graceful stop sends the acks it decided, so nothing comes twice.
    expect([...seen.values()].filter((count) => count > 1)).toEqual([]);
    const queue = second.topology.queuesOf(group).queue;
    await second.stop();
    expect(await readyIn(queue)).toBe(0);
  }, 40_000);
});
