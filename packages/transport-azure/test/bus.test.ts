import {
  createIntegrationEventBus,
  defineEvent,
  type IntegrationEventBus,
  memoryEventLog,
  silentLogger,
  uuidv7,
} from '@herald/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { azureServiceBusTransport } from '../src/index.js';
import { AmqpTestPeer, peerProvisioner } from './helpers.js';

// Two services on core's bus (outbox → relay → transport → inbox → handler), the
// transport plugged in with `useTransport`, over the real SDK and the AMQP test peer.
const OrderPlaced = defineEvent<{ orderId: string; total: number }>(
  `azure.bus.order-placed-${Date.now().toString(36)}`,
);

let peer: AmqpTestPeer;
const running: IntegrationEventBus[] = [];
beforeAll(async () => {
  peer = await AmqpTestPeer.start();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((bus) => bus.stop()));
});
afterAll(async () => {
  await peer?.stop();
});

function transport(topic: string, sessions = false) {
  return azureServiceBusTransport({
    connectionString: peer.connectionString,
    provisioner: peerProvisioner(peer),
    topic,
    sessions,
    sessionIdleTimeoutMs: 200,
    sessionRetryDelayMs: 100,
    retryOptions: { maxRetries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 500, timeoutInMs: 5_000 },
  });
}

async function eventually(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each([false, true])('core bus over Service Bus (sessions: %s)', (sessions) => {
  it('delivers events from one service to another once each (in key order with sessions), envelope intact', async () => {
    const topic = `bus-${sessions ? 's' : 'p'}-${uuidv7().slice(-8)}`;
    const handled: Array<{ orderId: string; correlationId: string | undefined; source: string }> = [];
    const ordering = createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
      .useTransport(transport(topic, sessions))
      .useEventLog(memoryEventLog())
      .build();
    const billing = createIntegrationEventBus({ service: 'billing', logger: silentLogger })
      .useTransport(transport(topic, sessions))
      .useEventLog(memoryEventLog())
      .handle(OrderPlaced, async (event, ctx) => {
        handled.push({
          orderId: event.orderId,
          correlationId: ctx.envelope.correlationId,
          source: ctx.envelope.source,
        });
      })
      .build();
    running.push(billing, ordering);
    await billing.start();
    await ordering.start();

    const orders = Array.from(
      { length: 10 },
      (_, index) => new OrderPlaced({ orderId: `o-${index}`, total: index }),
    );
    for (const order of orders)
      await ordering.publish(order, { correlationId: 'req-1', orderingKey: 'customer-1' });
    await eventually(() => handled.length >= 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ids = handled.map((item) => item.orderId);
    // Per-key order is promised with sessions; without them, each event arrives once.
    if (sessions) expect(ids).toEqual(orders.map((order) => order.orderId));
    else expect([...ids].sort()).toEqual(orders.map((order) => order.orderId).sort());
    expect(handled.every((item) => item.correlationId === 'req-1' && item.source === 'ordering')).toBe(true);
  });
});

it('a message core cannot read is dead-lettered with core’s reason in the subscription’s DLQ', async () => {
  const topic = `bus-dlq-${uuidv7().slice(-8)}`;
  const billingTransport = transport(topic);
  const billing = createIntegrationEventBus({ service: 'billing', logger: silentLogger })
    .useTransport(billingTransport)
    .useEventLog(memoryEventLog())
    .handle(OrderPlaced, async () => undefined)
    .build();
  running.push(billing);
  await billing.start();
  // A foreign publisher's message without Herald's headers, straight through another transport.
  const raw = transport(topic);
  await raw.start();
  try {
    const id = uuidv7();
    const [outcome] = await raw.publish([
      {
        id,
        name: OrderPlaced.eventName,
        headers: { 'x-from': 'legacy' },
        body: new Uint8Array([0xff, 0x00]),
      },
    ]);
    expect(outcome!.ok).toBe(true);
    let letters: Awaited<ReturnType<NonNullable<typeof billingTransport.readDeadLetters>>> = [];
    const deadline = Date.now() + 10_000;
    while (letters.length === 0 && Date.now() < deadline) {
      letters = await billingTransport.readDeadLetters('billing', 10);
      if (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toContain('HERALD_MALFORMED_MESSAGE');
    expect({ ...letters[0]!.headers }).toEqual({ 'x-from': 'legacy' });
  } finally {
    await raw.stop();
  }
});
