import { randomUUID } from 'node:crypto';
import type { DaprClient } from '@dapr/dapr';
import { createIntegrationEventBus, memoryEventLog } from '@herald/core';
import { expect } from 'vitest';
import type { DaprTransport } from '../src/index.js';
import { runId, testLogger, waitFor } from './helpers.js';

/**
 * Publishes header-less, malformed and hostile messages with a plain Dapr
 * client to the topic of an event a bus on `transport` handles, and checks
 * that each is dead-lettered with its reason while the consumer lives on.
 * Shared by the streaming and the app-callback subscription tests.
 */
export async function expectHostileMessagesDeadLettered(
  transport: DaprTransport,
  plain: DaprClient,
  publishPubsub: string,
): Promise<void> {
  const eventName = `accounts.opened-${runId}`;
  const received: unknown[] = [];
  const bus = createIntegrationEventBus({ service: `accounts-${runId}`, logger: testLogger })
    .useTransport(transport)
    .useEventLog(memoryEventLog())
    .handle(
      class AccountOpened {
        static readonly eventName = eventName;
      },
      async (event) => void received.push(event),
    )
    .build();
  await bus.start();
  try {
    const topic = `herald-test-${runId}.${eventName}`;
    // 1. A plain JSON event: Dapr wraps it in a CloudEvent without any Herald header.
    await plain.pubsub.publish(publishPubsub, topic, { accountId: 'a-1' });
    // 2. A CloudEvent whose Herald headers are not JSON.
    const cloudEvent = (extra: Record<string, string>) => ({
      specversion: '1.0',
      id: randomUUID(),
      source: 'plain-dapr-client',
      type: eventName,
      datacontenttype: 'application/json',
      data: { accountId: 'a-2' },
      ...extra,
    });
    await plain.pubsub.publish(publishPubsub, topic, cloudEvent({ heraldheaders: '{not json' }), {
      contentType: 'application/cloudevents+json',
    });
    // 3. Herald headers present but the id is no UUID and a __proto__ key tries to sneak in.
    await plain.pubsub.publish(
      publishPubsub,
      topic,
      cloudEvent({
        heraldheaders: `{"__proto__":"polluted","herald-id":"not-a-uuid","herald-name":"${eventName}","herald-version":"1","herald-occurred-at":"${new Date().toISOString()}","herald-source":"x"}`,
      }),
      { contentType: 'application/cloudevents+json' },
    );
    // 4. A header value that is not a string (an object under __proto__): the headers are unreadable.
    await plain.pubsub.publish(
      publishPubsub,
      topic,
      cloudEvent({ heraldheaders: '{"__proto__":{"polluted":"yes"},"herald-id":"x"}' }),
      { contentType: 'application/cloudevents+json' },
    );
    let letters: Awaited<ReturnType<DaprTransport['readDeadLetters']>> = [];
    await waitFor(
      async () => {
        letters = await transport.readDeadLetters(`accounts-${runId}`, 10);
        return letters.length >= 4;
      },
      30_000,
      () => `dead letters so far: ${JSON.stringify(letters.map((letter) => letter.reason))}`,
    );
    const reasons = letters.map((letter) => letter.reason).join('\n');
    expect(reasons).toMatch(/Missing header "herald-id"/);
    expect(reasons).toMatch(/not a UUID/);
    expect(letters.filter((letter) => /Missing header "herald-id"/.test(letter.reason))).toHaveLength(3);
    // The payload bytes are kept in the dead letter, for an operator to inspect or re-publish.
    expect(letters.some((letter) => Buffer.from(letter.body).toString().includes('a-1'))).toBe(true);
    expect(received).toEqual([]);
    expect(({} as { polluted?: string }).polluted).toBeUndefined();
    expect((await transport.health()).connected, 'the consumer survived').toBe(true);
  } finally {
    await bus.stop();
  }
}
