import { createIntegrationEventBus, memoryEventLog } from '@herald/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KafkaTransport } from '../src/index.js';
import {
  deleteRunTopics,
  rawKafka,
  requireBroker,
  runId,
  testLogger,
  testTransport,
  waitFor,
} from './helpers.js';

beforeAll(requireBroker);
afterAll(deleteRunTopics);

const eventName = `accounts.opened-${runId}`;
/** No schema: the payload reaches the handler through `instantiate` only. */
class AccountOpened {
  static readonly eventName = eventName;
  declare readonly accountId: string;
  declare readonly isAdmin?: boolean;
}

it('a __proto__ key from a foreign producer neither swaps the event prototype nor leaks inherited values', async () => {
  const received: unknown[] = [];
  const dead: unknown[] = [];
  const bus = createIntegrationEventBus({ service: `accounts-${runId}`, logger: testLogger })
    .useTransport(testTransport())
    .useEventLog(memoryEventLog())
    .handle(AccountOpened, async (event) => void received.push(event))
    .build();
  bus.on('dead-lettered', (event) => void dead.push(event));
  const foreign = rawKafka().producer();
  await bus.start();
  try {
    // A foreign producer: plain kafkajs, the value written by hand so `__proto__` is a real JSON key.
    await foreign.connect();
    await foreign.send({
      topic: (bus.transport as KafkaTransport).options.topicFor(eventName),
      acks: -1,
      messages: [
        {
          key: 'account-1',
          value: Buffer.from(
            '{"__proto__":{"isAdmin":true},"accountId":"a-1",' +
              '"profile":{"name":"mallory","__proto__":{"isAdmin":true}}}',
          ),
          headers: {
            'herald-id': '0190b8f5-7c3e-7000-8000-0000000000aa',
            'herald-name': eventName,
            'herald-version': '1',
            'herald-occurred-at': new Date().toISOString(),
            'herald-source': 'a-foreign-producer',
          },
        },
      ],
    });
    await waitFor(
      () => received.length === 1,
      30_000,
      () => `${received.length} events handled; dead letters: ${JSON.stringify(dead)}`,
    );
    const event = received[0] as AccountOpened & { profile: Record<string, unknown> };
    expect(event).toBeInstanceOf(AccountOpened);
    expect(event.accountId).toBe('a-1');
    expect(event.isAdmin).toBeUndefined();
    expect(Object.assign({}, event.profile).isAdmin).toBeUndefined();
    expect(({} as { isAdmin?: boolean }).isAdmin).toBeUndefined();
  } finally {
    await foreign.disconnect();
    await bus.stop();
  }
}, 60_000);
