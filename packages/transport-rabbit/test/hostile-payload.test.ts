import { randomUUID } from 'node:crypto';
import { createIntegrationEventBus, memoryEventLog, silentLogger } from '@herald/core';
import { type ChannelModel, connect } from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rabbitUrl, requireRabbit, TestBroker, unique, waitUntil } from './helpers.js';

beforeAll(requireRabbit);

const broker = new TestBroker();
let raw: ChannelModel | undefined;
afterAll(async () => {
  await raw?.close().catch(() => undefined);
  await broker.cleanup();
});

const eventName = unique('accounts.opened');
/** No schema: the payload reaches the handler through `instantiate` only. */
class AccountOpened {
  static readonly eventName = eventName;
  declare readonly accountId: string;
  declare readonly isAdmin?: boolean;
}

it('a __proto__ key from a foreign publisher neither swaps the event prototype nor leaks inherited values', async () => {
  const received: unknown[] = [];
  const bus = createIntegrationEventBus({ service: unique('accounts'), logger: silentLogger })
    .useTransport(broker.transport())
    .useEventLog(memoryEventLog())
    .handle(AccountOpened, async (event) => void received.push(event))
    .build();
  const dead: unknown[] = [];
  bus.on('dead-lettered', (event) => void dead.push(event));
  await bus.start();
  try {
    // A foreign publisher: plain amqplib, the body written by hand so `__proto__` is a real JSON key.
    raw = await connect(rabbitUrl);
    raw.on('error', () => undefined);
    const channel = await raw.createConfirmChannel();
    const body =
      '{"__proto__":{"isAdmin":true},"accountId":"a-1",' +
      '"profile":{"name":"mallory","__proto__":{"isAdmin":true}}}';
    channel.publish(broker.exchange, eventName, Buffer.from(body), {
      persistent: true,
      messageId: randomUUID(),
      type: eventName,
      contentType: 'application/json',
      headers: {
        'herald-version': '1',
        'herald-occurred-at': new Date().toISOString(),
        'herald-source': 'a-foreign-publisher',
      },
    });
    await channel.waitForConfirms();
    await channel.close();

    await waitUntil(
      () => received.length === 1,
      20_000,
      () => `${received.length} events handled; dead letters: ${JSON.stringify(dead)}`,
    );
    const event = received[0] as AccountOpened & { profile: Record<string, unknown> };
    expect(event).toBeInstanceOf(AccountOpened);
    expect(event.accountId).toBe('a-1');
    expect(event.isAdmin).toBeUndefined();
    expect(Object.assign({}, event.profile).isAdmin).toBeUndefined();
    expect(({} as { isAdmin?: boolean }).isAdmin).toBeUndefined();
  } finally {
    await bus.stop();
  }
});
