import type { WireMessage } from '@herald/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DaprTransport } from '../src/index.js';
import { heraldWire, portOpen, runId, sidecarFixture, sleep, testTransport, waitFor } from './helpers.js';

// Failures mid-stream, each bounded: the broker behind the sidecar restarts, and the sidecar
// itself is killed (SIGKILL) and started again, while messages flow. The publisher re-sends
// what was not confirmed (what the outbox relay does); the check is that every message is
// handled at least once (duplicates are allowed: that is what the inbox absorbs).

const dapr = sidecarFixture('redis');
const { sidecar, redis } = dapr;
beforeAll(dapr.start, 120_000);
afterAll(dapr.stop, 60_000);

function wire(name: string, index: number): WireMessage {
  return heraldWire(name, { index }, 'dapr-failures');
}

/** Publishes in batches of 10 every 100 ms (about 3 s in all), re-sending unconfirmed messages until confirmed. */
async function publishAll(
  transport: DaprTransport,
  messages: readonly WireMessage[],
  deadline: number,
  progress: { confirmed: number },
) {
  for (let start = 0; start < messages.length; start += 10) {
    let pending = messages.slice(start, start + 10);
    while (pending.length > 0) {
      if (Date.now() > deadline) throw new Error(`${pending.length} messages never confirmed`);
      const outcomes = await transport
        .publish(pending)
        .catch(() => pending.map((m) => ({ id: m.id, ok: false })));
      const failed = new Set(outcomes.filter((outcome) => !outcome.ok).map((outcome) => outcome.id));
      pending = pending.filter((message) => failed.has(message.id));
      if (pending.length > 0) await sleep(200);
    }
    progress.confirmed = Math.min(messages.length, start + 10);
    await sleep(100);
  }
}

async function runMidStream(
  name: string,
  group: string,
  disrupt: () => Promise<void>,
): Promise<{
  handled: Set<string>;
  deliveries: number;
  atDisruption: { handled: number; confirmed: number };
}> {
  const publisher = testTransport(sidecar(), 'redis', { startTimeoutMs: 30_000 });
  const consumer = testTransport(sidecar(), 'redis', { startTimeoutMs: 30_000 });
  await publisher.start();
  await consumer.start();
  const handled = new Set<string>();
  let deliveries = 0;
  try {
    await consumer.subscribe({ group, eventNames: [name] }, async (message) => {
      deliveries++;
      await sleep(10);
      handled.add(message.headers['herald-id']!);
      return { kind: 'ack' };
    });
    const messages = Array.from({ length: 300 }, (_, index) => wire(name, index));
    const deadline = Date.now() + 90_000;
    const progress = { confirmed: 0 };
    const publishing = publishAll(publisher, messages, deadline, progress);
    await waitFor(
      () => handled.size >= 60,
      30_000,
      () => `only ${handled.size} handled before the disruption`,
    );
    // Mid-stream for real: messages still to publish (and to handle) when the disruption starts.
    const atDisruption = { handled: handled.size, confirmed: progress.confirmed };
    expect(atDisruption.confirmed, 'published before the disruption').toBeLessThan(300);
    await disrupt();
    await publishing;
    await waitFor(
      () => messages.every((message) => handled.has(message.id)),
      60_000,
      () => `${messages.filter((message) => !handled.has(message.id)).length} of 300 never handled`,
    );
    expect(handled.size).toBe(300);
    return { handled, deliveries, atDisruption };
  } finally {
    await consumer.stop();
    await publisher.stop();
  }
}

it('the broker behind the sidecar restarted mid-stream: nothing is lost', async () => {
  const result = await runMidStream(`broker-restart-${runId}`, 'ga', () => redis().restart(1_500));
  expect(result.deliveries).toBeGreaterThanOrEqual(300);
}, 180_000);

it('health says not connected while the broker behind the sidecar refuses publishes, and connected once one goes through', async () => {
  const transport = testTransport(sidecar(), 'redis', { startTimeoutMs: 30_000 });
  await transport.start();
  try {
    expect(await transport.health()).toEqual({ connected: true });
    await redis().down();
    const name = `broker-down-${runId}`;
    const [refused] = await transport.publish([wire(name, 0)]);
    expect(refused?.ok).toBe(false);
    const down = await transport.health();
    expect(down.connected).toBe(false);
    expect(down.detail).toMatch(
      /pub\/sub component behind the sidecar cannot reach its broker: .*connection refused/i,
    );
    await redis().start();
    await waitFor(
      async () => (await transport.publish([wire(name, 1)]))[0]?.ok === true,
      30_000,
      () => 'no publish went through after Redis came back',
    );
    expect(await transport.health()).toEqual({ connected: true });
  } finally {
    await transport.stop();
    if (!(await portOpen(redis().port))) await redis().start();
  }
}, 90_000);

it('the sidecar killed (SIGKILL) and restarted mid-stream: nothing is lost', async () => {
  const result = await runMidStream(`sidecar-kill-${runId}`, 'gb', async () => {
    await sidecar().kill();
    await sleep(1_000);
    await sidecar().start();
  });
  expect(result.deliveries).toBeGreaterThanOrEqual(300);
}, 180_000);
