import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpTestPeer } from './helpers.js';

// The scaffolding itself, driven by the real SDK: the behaviours the transport tests rely on.
let peer: AmqpTestPeer;
let client: ServiceBusClient;
beforeAll(async () => {
  peer = await AmqpTestPeer.start({ maxMessageSize: 4_096 });
  client = new ServiceBusClient(peer.connectionString, {
    retryOptions: { maxRetries: 0, retryDelayInMs: 50, timeoutInMs: 3_000 },
  });
});
afterAll(async () => {
  await client?.close();
  await peer?.stop();
});

describe('AMQP test peer', () => {
  it('queues: send, peek-lock receive with a lock token, complete', async () => {
    peer.createQueue('q-basic');
    const sender = client.createSender('q-basic');
    await sender.sendMessages({ body: Buffer.from('hi'), messageId: 'm-1' });
    const receiver = client.createReceiver('q-basic', { skipParsingBodyAsJson: true });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
    expect(message!.messageId).toBe('m-1');
    expect(message!.lockToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(message!.deliveryCount).toBe(0);
    expect(message!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    await receiver.completeMessage(message!);
    expect(peer.messagesOf('q-basic')).toHaveLength(0);
    expect(peer.stats.putTokens.some((audience) => audience.endsWith('/q-basic'))).toBe(true);
    await receiver.close();
    await sender.close();
  });

  it('abandoning past maxDeliveryCount dead-letters with MaxDeliveryCountExceeded', async () => {
    peer.createQueue('q-max', { maxDeliveryCount: 2 });
    const sender = client.createSender('q-max');
    await sender.sendMessages({ body: Buffer.from('x'), messageId: 'm-2' });
    const receiver = client.createReceiver('q-max', { skipParsingBodyAsJson: true });
    for (let round = 0; round < 2; round++) {
      const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 });
      expect(message!.deliveryCount).toBe(round);
      await receiver.abandonMessage(message!);
    }
    const [letter] = peer.messagesOf('q-max/$DeadLetterQueue');
    expect(letter.application_properties.DeadLetterReason).toBe('MaxDeliveryCountExceeded');
    await receiver.close();
    await sender.close();
  });

  it('refuses a sender on a subscription and on an unknown entity, and a message over max-message-size', async () => {
    peer.createTopic('t-refuse');
    peer.createSubscription('t-refuse', 's');
    await expect(
      client.createSender('t-refuse/Subscriptions/s').sendMessages({ body: 'x' }),
    ).rejects.toMatchObject({
      code: 'MessagingEntityNotFound',
    });
    await expect(client.createSender('nowhere').sendMessages({ body: 'x' })).rejects.toMatchObject({
      code: 'MessagingEntityNotFound',
    });
    const sender = client.createSender('t-refuse');
    expect((await sender.createMessageBatch()).maxSizeInBytes).toBe(4_096);
    await expect(sender.sendMessages({ body: Buffer.alloc(5_000) })).rejects.toMatchObject({
      code: 'MessageSizeExceeded',
    });
    await sender.close();
  });

  it('sessions: accept-next-session fails at once when none is available, and a locked session cannot be taken', async () => {
    peer.createTopic('t-sessions');
    peer.createSubscription('t-sessions', 's', { requiresSession: true });
    await expect(client.acceptNextSession('t-sessions', 's')).rejects.toMatchObject({
      code: 'ServiceTimeout',
    });
    const sender = client.createSender('t-sessions');
    await sender.sendMessages([
      { body: 'a', sessionId: 'A' },
      { body: 'b', sessionId: 'B' },
    ]);
    const first = await client.acceptNextSession('t-sessions', 's');
    expect(first.sessionId).toBe('A');
    await expect(client.acceptSession('t-sessions', 's', 'A')).rejects.toMatchObject({
      code: 'SessionCannotBeLocked',
    });
    const second = await client.acceptNextSession('t-sessions', 's');
    expect(second.sessionId).toBe('B');
    await first.close();
    await second.close();
    await sender.close();
  });
});
