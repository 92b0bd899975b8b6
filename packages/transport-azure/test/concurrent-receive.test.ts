import type { Transport } from '@herald/core';
import { sleep } from '@herald/core';
import { testWireMessage } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AzureServiceBusTransportOptions, azureServiceBusTransport } from '../src/index.js';
import { AmqpTestPeer, peerProvisioner } from './helpers.js';

// The real @azure/service-bus SDK against the AMQP test peer (see README).
let peer: AmqpTestPeer;
const transports: Transport[] = [];
beforeAll(async () => {
  peer = await AmqpTestPeer.start();
});
afterEach(async () => {
  await Promise.allSettled(transports.splice(0).map((transport) => transport.stop()));
});
afterAll(async () => {
  await peer?.stop();
});

let counter = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;
async function started(options: Partial<AzureServiceBusTransportOptions> = {}) {
  const transport = azureServiceBusTransport({
    connectionString: peer.connectionString,
    provisioner: peerProvisioner(peer),
    retryOptions: { maxRetries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 500, timeoutInMs: 5_000 },
    ...options,
  } as AzureServiceBusTransportOptions);
  transports.push(transport);
  await transport.start();
  return transport;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(10);
  }
}

describe('receiving in batches', () => {
  it('hands up to maxConcurrentCalls deliveries to core at once, settles each once, and never more at once', async () => {
    const transport = await started({ maxConcurrentCalls: 10 });
    const name = unique('batch');
    const seen = new Map<string, number>();
    let running = 0;
    let peak = 0;
    await transport.subscribe({ group: unique('g'), eventNames: [name] }, async (message) => {
      running++;
      peak = Math.max(peak, running);
      // Long enough that the next deliveries arrive while this one is with core.
      await sleep(30);
      running--;
      const id = message.headers['herald-id']!;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return { kind: 'ack' };
    });
    const sent = Array.from({ length: 60 }, (_, index) => testWireMessage({ name, payload: { index } }));
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => seen.size >= 60,
      20_000,
      () => `handled ${seen.size} of 60`,
    );
    await sleep(300);
    expect(
      [...seen.values()].every((count) => count === 1),
      'a completed message came again',
    ).toBe(true);
    expect(peak, 'deliveries with core at once').toBeGreaterThan(5);
    expect(peak).toBeLessThanOrEqual(10);
  }, 30_000);

  it('with the default options many deliveries reach core at once (default maxConcurrentCalls 128)', async () => {
    const transport = await started();
    const name = unique('default');
    let running = 0;
    let peak = 0;
    let done = 0;
    await transport.subscribe({ group: unique('g'), eventNames: [name] }, async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(50);
      running--;
      done++;
      return { kind: 'ack' };
    });
    const sent = Array.from({ length: 100 }, (_, index) => testWireMessage({ name, payload: { index } }));
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => done >= 100,
      20_000,
      () => `handled ${done} of 100`,
    );
    expect(peak).toBeGreaterThan(16);
  }, 30_000);
});
