import { type DeliveryHandler, sleep, TransportError } from '@herald/core';
import { testWireMessage } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitMqTransport } from '../src/index.js';
import { rabbitService, requireRabbit, TestBroker, unique, waitUntil } from './helpers.js';

// These tests stop and restart the broker with tooling/services/rabbitmq.sh (durable data is kept).
beforeAll(requireRabbit);

const broker = new TestBroker();
afterAll(async () => {
  // Whatever happened above, leave the broker running for the next file.
  await rabbitService('start');
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

function collector(delayMs = 0) {
  const ids = new Set<string>();
  let deliveries = 0;
  const handler: DeliveryHandler = async (message) => {
    deliveries++;
    if (delayMs > 0) await sleep(delayMs);
    ids.add(message.headers['herald-id']!);
    return { kind: 'ack' };
  };
  return { ids, handler, deliveries: () => deliveries };
}

describe('broker restart', () => {
  it('loses no confirmed message when the broker restarts mid-stream (2000 messages)', async () => {
    const name = unique('restart.stream');
    const group = unique('restart');
    // A slow consumer, so a backlog sits in the queue when the broker goes down (it must survive).
    const consumer = await started(broker.transport({ prefetch: 1 }));
    const got = collector(5);
    await consumer.subscribe({ group, eventNames: [name] }, got.handler);
    // Long enough to wait through the restart instead of failing every batch.
    const producer = await started(broker.transport({ publishTimeoutMs: 60_000 }));

    const total = 2000;
    const batchSize = 25;
    const confirmed = new Set<string>();
    const failed: string[] = [];
    let restart: Promise<void> | undefined;
    let restarted = false;
    let backlogAtRestart = 0;
    for (let sent = 0; sent < total; sent += batchSize) {
      const batch = Array.from({ length: batchSize }, (_, i) =>
        testWireMessage({ name, payload: { n: sent + i }, ...(i % 5 === 0 ? { orderingKey: `k${i}` } : {}) }),
      );
      try {
        const outcomes = await producer.publish(batch);
        for (const outcome of outcomes) {
          if (outcome.ok) confirmed.add(outcome.id);
          else {
            expect(outcome.error).toBeInstanceOf(TransportError);
            failed.push(outcome.id);
          }
        }
      } catch (error) {
        expect(error).toBeInstanceOf(TransportError);
        failed.push(...batch.map((message) => message.id));
      }
      // A quarter in, restart the broker while the producer keeps going.
      if (!restart && sent >= total / 4) {
        backlogAtRestart = confirmed.size - got.ids.size;
        restart = rabbitService('restart').then(() => {
          restarted = true;
        });
      }
      // Paced so the restart lands mid-stream, not after the last batch.
      if (!restarted) await sleep(100);
    }
    await restart;
    expect(restarted).toBe(true);
    expect(backlogAtRestart, 'messages were waiting in the queue when the broker went down').toBeGreaterThan(
      100,
    );
    const confirmedBefore = confirmed.size;

    await waitUntil(
      () => [...confirmed].every((id) => got.ids.has(id)),
      60_000,
      () =>
        `${[...confirmed].filter((id) => !got.ids.has(id)).length} of ${confirmed.size} confirmed messages never arrived`,
    );
    // Count before and after: every confirmed message was consumed (duplicates allowed, no loss).
    const lost = [...confirmed].filter((id) => !got.ids.has(id));
    expect(lost).toEqual([]);
    expect(confirmed.size).toBe(confirmedBefore);
    expect(confirmed.size + failed.length).toBe(total);
    // The restart really happened under both transports, and most of the stream got through.
    expect(producer.metrics().reconnects).toBeGreaterThanOrEqual(1);
    expect(consumer.metrics().reconnects).toBeGreaterThanOrEqual(1);
    expect(confirmed.size).toBeGreaterThan(total / 2);
    expect(got.deliveries()).toBeGreaterThanOrEqual(confirmed.size);
    expect((await producer.health()).connected).toBe(true);
  }, 150_000);
});

describe('outage', () => {
  it('publishes wait for the broker, then fail with a retriable TransportError; consumers resume when it is back', async () => {
    const name = unique('outage');
    const group = unique('outage');
    const consumer = await started(broker.transport());
    const got = collector();
    await consumer.subscribe({ group, eventNames: [name] }, got.handler);
    const impatient = await started(broker.transport({ publishTimeoutMs: 1_000 }));
    const patient = await started(broker.transport({ publishTimeoutMs: 90_000 }));
    const stopping = await started(broker.transport({ publishTimeoutMs: 90_000 }));

    await rabbitService('stop');
    await waitUntil(
      async () => !(await impatient.health()).connected,
      10_000,
      () => 'health() still reports connected',
    );
    expect((await impatient.health()).detail).toMatch(/reconnecting/);

    const error = await impatient.publish([testWireMessage({ name })]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).retriable).toBe(true);
    expect((error as Error).message).toMatch(/not reachable within 1000 ms/);

    // Stopping a transport during the outage rejects its waiting publish at once (typed), without hanging.
    const abandoned = stopping.publish([testWireMessage({ name })]).catch((e: unknown) => e);
    await stopping.stop();
    expect(await abandoned).toBeInstanceOf(TransportError);

    const waiting = testWireMessage({ name });
    const pending = patient.publish([waiting]);
    await rabbitService('start');
    expect(await pending).toEqual([{ id: waiting.id, ok: true }]);
    await waitUntil(
      () => got.ids.has(waiting.id),
      30_000,
      () => 'the consumer did not resume after the outage',
    );
    await waitUntil(
      async () => (await consumer.health()).connected,
      10_000,
      () => 'consumer health never recovered',
    );
    // The impatient transport reconnects on its own backoff schedule (capped at 5 s).
    await waitUntil(
      async () => (await impatient.health()).connected,
      15_000,
      () => 'publisher never reconnected',
    );
    const after = testWireMessage({ name });
    expect(await impatient.publish([after])).toEqual([{ id: after.id, ok: true }]);
    await waitUntil(
      () => got.ids.has(after.id),
      10_000,
      () => 'message after the outage not delivered',
    );
  }, 150_000);
});
