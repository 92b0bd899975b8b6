import {
  ConfigurationError,
  type DeliveryHandler,
  type Disposition,
  type IncomingMessage,
  sleep,
  type Transport,
  TransportError,
  uuidv7,
  type WireMessage,
} from '@herald/core';
import { payloadOfTestMessage, testWireMessage } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AzureServiceBusTransportOptions,
  azureServiceBusTransport,
  defaultSubscriptionName,
  RETRY_SUBJECT,
  subscriptionRules,
} from '../src/index.js';
import { AmqpTestPeer, peerProvisioner } from './helpers.js';

// Service Bus specifics, through the real SDK against the AMQP test peer (see README).
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

const fastRetries = { maxRetries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 500, timeoutInMs: 5_000 };
let counter = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

async function started(
  options: Partial<AzureServiceBusTransportOptions> & {
    lockDurationMs?: number;
    peerLockDurationMs?: number;
  } = {},
) {
  const { peerLockDurationMs, ...rest } = options;
  const transport = azureServiceBusTransport({
    connectionString: peer.connectionString,
    provisioner: peerProvisioner(peer, peerLockDurationMs ? { lockDurationMs: peerLockDurationMs } : {}),
    retryOptions: fastRetries,
    ...rest,
  } as AzureServiceBusTransportOptions);
  transports.push(transport);
  await transport.start();
  return transport;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Polls `read` until `done` holds (bounded), returning the last result. */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

interface Seen {
  readonly message: IncomingMessage;
  readonly at: number;
}

function recorder(
  decide: (message: IncomingMessage, index: number) => Disposition | Promise<Disposition> = () => ({
    kind: 'ack',
  }),
) {
  const seen: Seen[] = [];
  const handler: DeliveryHandler = async (message) => {
    const index = seen.filter(
      (item) => item.message.headers['herald-id'] === message.headers['herald-id'],
    ).length;
    seen.push({ message, at: Date.now() });
    return decide(message, index);
  };
  return { seen, handler };
}

const ids = (messages: readonly WireMessage[]) => messages.map((message) => message.id);

describe('publishing', () => {
  it('splits a publish into several batches when the batch is full, in order, each within the size limit', async () => {
    const topic = unique('batching');
    const transport = await started({ topic, maxBatchSizeBytes: 4_096 });
    const name = unique('evt');
    const { seen, handler } = recorder();
    await transport.subscribe({ group: unique('g'), eventNames: [name] }, handler);
    const sent = Array.from({ length: 40 }, (_, index) =>
      testWireMessage({ name, payload: { index, filler: 'x'.repeat(300) } }),
    );
    const outcomes = await transport.publish(sent);
    expect(outcomes.map((outcome) => [outcome.id, outcome.ok])).toEqual(
      sent.map((message) => [message.id, true]),
    );

    const transfers = peer.stats.transfers.filter((transfer) => transfer.address === topic);
    expect(transfers.length, 'more than one batch').toBeGreaterThan(1);
    expect(transfers.every((transfer) => transfer.batch && transfer.bytes <= 4_096)).toBe(true);
    expect(transfers.reduce((sum, transfer) => sum + transfer.messageCount, 0)).toBe(40);

    await waitFor(() => seen.length >= 40, 10_000, '40 deliveries');
    // One subscription, peek-lock FIFO, enqueued batch after batch: the order of publication.
    expect(seen.map((item) => item.message.headers['herald-id'])).toEqual(ids(sent));
  });

  it('fails only the message that can never fit a batch (non-retriable); the others are sent', async () => {
    const topic = unique('too-big');
    const transport = await started({ topic, maxBatchSizeBytes: 2_048 });
    const name = unique('evt');
    const small = [testWireMessage({ name }), testWireMessage({ name })];
    const huge = testWireMessage({ name, payload: { blob: 'y'.repeat(5_000) } });
    const outcomes = await transport.publish([small[0]!, huge, small[1]!]);
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true]);
    const failure = outcomes[1] as { error: unknown };
    expect(failure.error).toBeInstanceOf(TransportError);
    expect((failure.error as TransportError).retriable).toBe(false);
  });

  it('in session mode sends one batch per session (the ordering key) and the key becomes the sessionId', async () => {
    const topic = unique('sessions-batching');
    const transport = await started({
      topic,
      sessions: true,
      sessionIdleTimeoutMs: 100,
      sessionRetryDelayMs: 50,
    });
    const name = unique('evt');
    const group = unique('g');
    const { seen, handler } = recorder();
    await transport.subscribe({ group, eventNames: [name] }, handler);
    const sent = Array.from({ length: 12 }, (_, index) =>
      testWireMessage({ name, orderingKey: `key-${index % 3}` }),
    );
    const outcomes = await transport.publish(sent);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(peer.stats.transfers.filter((transfer) => transfer.address === topic)).toHaveLength(3);
    await waitFor(() => seen.length >= 12, 10_000, '12 deliveries');
    for (const key of ['key-0', 'key-1', 'key-2']) {
      const order = seen.filter((item) => item.message.headers['herald-ordering-key'] === key);
      expect(order.map((item) => item.message.headers['herald-id'])).toEqual(
        ids(sent.filter((message) => message.orderingKey === key)),
      );
    }
  });

  it('maps the envelope onto native properties and application properties', async () => {
    const topic = unique('mapping');
    const transport = await started({ topic });
    const name = unique('evt');
    const group = unique('g');
    const subscription = defaultSubscriptionName(group);
    // A subscription without a consumer keeps the message for inspection.
    await peerProvisioner(peer).ensureSubscription({
      topic,
      subscription,
      rules: subscriptionRules(subscription, [name]),
      requiresSession: false,
      lockDurationMs: 60_000,
      maxDeliveryCount: 10,
    });
    const base = testWireMessage({ name, headers: { 'x-tenant-note': 'n1' } });
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const message: WireMessage = { ...base, headers: { ...base.headers, traceparent } };
    expect((await transport.publish([message]))[0]!.ok).toBe(true);
    const [raw] = peer.messagesOf(`${topic}/Subscriptions/${subscription}`);
    expect(raw.message_id).toBe(message.id);
    expect(raw.subject).toBe(name);
    expect(raw.correlation_id).toBe(message.headers['herald-correlation-id']);
    expect(raw.content_type).toBe('application/json');
    expect(raw.application_properties['Diagnostic-Id']).toBe(traceparent);
    expect(raw.application_properties['x-tenant-note']).toBe('n1');
    expect(raw.application_properties['herald-source']).toBe('testkit');
    // Carried natively, not twice.
    for (const header of [
      'herald-id',
      'herald-name',
      'herald-correlation-id',
      'traceparent',
      'content-type',
    ]) {
      expect(raw.application_properties).not.toHaveProperty(header);
    }
  });

  it('publish to a topic that does not exist fails per message with a TransportError (autoCreate off)', async () => {
    const transport = azureServiceBusTransport({
      connectionString: peer.connectionString,
      topic: (name) => `missing-${name}`,
      retryOptions: { ...fastRetries, maxRetries: 0 },
    });
    transports.push(transport);
    await transport.start();
    const message = testWireMessage({ name: unique('evt') });
    const [outcome] = await transport.publish([message]);
    expect(outcome!.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TransportError);
  });

  it('start() fails with a TransportError when the bus topic does not exist and autoCreate is off', async () => {
    const transport = azureServiceBusTransport({
      connectionString: peer.connectionString,
      topic: unique('absent'),
      retryOptions: { ...fastRetries, maxRetries: 0 },
    });
    await expect(transport.start()).rejects.toBeInstanceOf(TransportError);
    expect(await transport.health()).toMatchObject({ connected: false });
  });
});

describe('dispositions', () => {
  it("'dead-letter' moves the message to the subscription's $DeadLetterQueue with the reason and the group", async () => {
    const topic = unique('dlq');
    const transport = await started({ topic });
    const name = unique('evt');
    const group = unique('ordering.projections');
    const subscription = defaultSubscriptionName(group);
    const { seen, handler } = recorder(() => ({
      kind: 'dead-letter',
      reason: 'HERALD_SCHEMA_VALIDATION: amount < 0',
    }));
    await transport.subscribe({ group, eventNames: [name] }, handler);
    const message = testWireMessage({ name, headers: { 'x-why': 'poison' } });
    await transport.publish([message]);
    await waitFor(
      () => peer.messagesOf(`${topic}/Subscriptions/${subscription}/$DeadLetterQueue`).length === 1,
      10_000,
      'the dead letter',
    );
    const [raw] = peer.messagesOf(`${topic}/Subscriptions/${subscription}/$DeadLetterQueue`);
    expect(raw.application_properties.DeadLetterReason).toBe('HERALD_SCHEMA_VALIDATION: amount < 0');
    expect(raw.application_properties.DeadLetterErrorDescription).toContain(group);
    expect(peer.messagesOf(`${topic}/Subscriptions/${subscription}`)).toHaveLength(0);
    expect(seen).toHaveLength(1);

    const [letter] = await transport.readDeadLetters!(group, 10);
    expect(letter!.reason).toContain('HERALD_SCHEMA_VALIDATION: amount < 0');
    expect({ ...letter!.headers }).toEqual({ ...message.headers });
    expect(Buffer.from(letter!.body)).toEqual(Buffer.from(message.body));
  });

  it('readDeadLetters pages through more dead letters than one peek returns, and respects the limit', async () => {
    const topic = unique('dlq-paging');
    const transport = await started({ topic });
    const name = unique('evt');
    const group = unique('g');
    const { handler } = recorder(() => ({ kind: 'dead-letter', reason: 'poison' }));
    await transport.subscribe({ group, eventNames: [name] }, handler);
    const sent = Array.from({ length: 130 }, (_, index) => testWireMessage({ name, payload: { index } }));
    await transport.publish(sent);
    const subscription = defaultSubscriptionName(group);
    await waitFor(
      () => peer.messagesOf(`${topic}/Subscriptions/${subscription}/$DeadLetterQueue`).length === 130,
      15_000,
      '130 dead letters',
    );
    const all = await transport.readDeadLetters!(group, 500);
    expect(all.map((letter) => letter.headers['herald-id']).sort()).toEqual(ids(sent).sort());
    expect(await transport.readDeadLetters!(group, 7)).toHaveLength(7);
    expect(await transport.readDeadLetters!(unique('never-subscribed'), 5)).toEqual([]);
  });

  it("'retry' re-sends a copy scheduled delayMs ahead to this subscription only, then completes the original", async () => {
    const topic = unique('retry');
    const transport = await started({ topic });
    const name = unique('evt');
    const retrying = recorder((_message, index) =>
      index === 0 ? { kind: 'retry', delayMs: 800, reason: 'store busy' } : { kind: 'ack' },
    );
    const bystander = recorder();
    const group = unique('g');
    await transport.subscribe({ group, eventNames: [name] }, retrying.handler);
    await transport.subscribe({ group: unique('other'), eventNames: [name] }, bystander.handler);
    const message = testWireMessage({ name });
    const before = peer.stats.transfers.length;
    await transport.publish([message]);
    await waitFor(() => retrying.seen.length >= 2, 10_000, 'the redelivery');
    const [first, second] = retrying.seen;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(750);
    expect(first!.message.deliveryAttempt).toBe(1);
    expect(second!.message.deliveryAttempt).toBe(2);
    expect({ ...second!.message.headers }).toEqual({ ...message.headers });
    expect(Buffer.from(second!.message.body)).toEqual(Buffer.from(message.body));

    // The copy is a single scheduled message addressed to the retrying subscription.
    const copies = peer.stats.transfers
      .slice(before)
      .filter((transfer) => !transfer.batch && transfer.address === topic);
    expect(copies).toHaveLength(1);
    await sleep(300);
    expect(bystander.seen, 'the other group does not get the retry copy').toHaveLength(1);
    const subscription = defaultSubscriptionName(group);
    expect(peer.messagesOf(`${topic}/Subscriptions/${subscription}`)).toHaveLength(0);
  });

  it('a retry copy carries the subject herald.retry and `to` = subscription, with the scheduled enqueue time', async () => {
    const topic = unique('retry-shape');
    const transport = await started({ topic });
    const name = unique('evt');
    const group = unique('g');
    const subscription = defaultSubscriptionName(group);
    let release!: () => void;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { seen, handler } = recorder(async (_message, index) => {
      if (index === 0) return { kind: 'retry', delayMs: 60_000, reason: 'later' };
      await hold;
      return { kind: 'ack' };
    });
    await transport.subscribe({ group, eventNames: [name] }, handler);
    const sentAt = Date.now();
    await transport.publish([testWireMessage({ name })]);
    await waitFor(
      () => {
        // The original is completed after the copy was accepted: then the copy is all that is left.
        const left = peer.messagesOf(`${topic}/Subscriptions/${subscription}`);
        return seen.length === 1 && left.length === 1 && left[0].subject !== name;
      },
      10_000,
      'the copy',
    );
    const [copy] = peer.messagesOf(`${topic}/Subscriptions/${subscription}`);
    expect(copy.subject).toBe(RETRY_SUBJECT);
    expect(copy.to).toBe(subscription);
    expect(copy.application_properties['herald-attempt']).toBe(2);
    const scheduled = copy.message_annotations['x-opt-scheduled-enqueue-time'] as Date;
    expect(scheduled.getTime()).toBeGreaterThanOrEqual(sentAt + 59_000);
    release();
  });

  it('in session mode a short retry holds the session and redelivers first; a long one re-sends a copy into the session', async () => {
    const topic = unique('session-retry');
    const transport = await started({
      topic,
      sessions: true,
      sessionIdleTimeoutMs: 100,
      sessionRetryDelayMs: 50,
      maxSessionHoldMs: 500,
    });
    const name = unique('evt');
    const group = unique('g');
    const subscription = defaultSubscriptionName(group);
    const key = unique('order');
    const [a, b] = [testWireMessage({ name, orderingKey: key }), testWireMessage({ name, orderingKey: key })];
    const { seen, handler } = recorder((message, index) => {
      if (message.headers['herald-id'] === a.id && index === 0)
        return { kind: 'retry', delayMs: 200, reason: 'short' };
      if (message.headers['herald-id'] === b.id && index === 0)
        return { kind: 'retry', delayMs: 700, reason: 'long' };
      return { kind: 'ack' };
    });
    await transport.subscribe({ group, eventNames: [name] }, handler);
    await transport.publish([a, b]);
    await waitFor(() => seen.length >= 4, 10_000, 'four deliveries');
    expect(seen.map((item) => item.message.headers['herald-id'])).toEqual([a.id, a.id, b.id, b.id]);
    // The short retry was an abandon (broker delivery count), the long one a scheduled copy.
    expect(seen[1]!.message.deliveryAttempt).toBe(2);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(180);
    expect(seen[3]!.message.deliveryAttempt).toBe(2);
    expect(seen[3]!.at - seen[2]!.at).toBeGreaterThanOrEqual(650);
    expect(
      peer.stats.transfers.filter((transfer) => transfer.address === topic && !transfer.batch),
    ).toHaveLength(1);
    await waitFor(
      () => peer.messagesOf(`${topic}/Subscriptions/${subscription}`).length === 0,
      5_000,
      'the subscription to be empty',
    );
  });
});

describe('locks', () => {
  it('renews the lock of a slow handler, so the message is handled once and completed', async () => {
    const topic = unique('renew');
    const transport = await started({ topic, peerLockDurationMs: 2_000 });
    const name = unique('evt');
    const renewalsBefore = peer.stats.renewLocks;
    const lostBefore = peer.stats.dispositions.lockLost;
    const { seen, handler } = recorder(async () => {
      await sleep(4_500);
      return { kind: 'ack' };
    });
    const group = unique('g');
    await transport.subscribe({ group, eventNames: [name] }, handler);
    await transport.publish([testWireMessage({ name })]);
    await waitFor(() => seen.length === 1, 10_000, 'the delivery');
    await sleep(5_000);
    expect(seen).toHaveLength(1);
    expect(peer.stats.renewLocks - renewalsBefore).toBeGreaterThanOrEqual(2);
    expect(peer.stats.dispositions.lockLost).toBe(lostBefore);
    expect(peer.messagesOf(`${topic}/Subscriptions/${defaultSubscriptionName(group)}`)).toHaveLength(0);
  }, 20_000);

  it('without renewal the lock expires: the broker redelivers (attempt 2) and the late completion is refused', async () => {
    const topic = unique('no-renew');
    const transport = await started({ topic, peerLockDurationMs: 1_000, maxAutoLockRenewalDurationMs: 0 });
    const name = unique('evt');
    const lostBefore = peer.stats.dispositions.lockLost;
    const { seen, handler } = recorder(async (_message, index) => {
      if (index === 0) await sleep(1_800);
      return { kind: 'ack' };
    });
    await transport.subscribe({ group: unique('g'), eventNames: [name] }, handler);
    await transport.publish([testWireMessage({ name })]);
    await waitFor(() => seen.length === 2, 10_000, 'the redelivery after the lock expired');
    expect(seen[1]!.message.deliveryAttempt).toBe(2);
    await waitFor(() => peer.stats.dispositions.lockLost > lostBefore, 5_000, 'the refused completion');
  }, 20_000);
});

describe('session locks', () => {
  it('renews the session lock while a slow handler holds the session', async () => {
    // A peer of its own: the session lock duration is a peer setting.
    const sessionPeer = await AmqpTestPeer.start({ sessionLockDurationMs: 2_000 });
    const transport = azureServiceBusTransport({
      connectionString: sessionPeer.connectionString,
      provisioner: peerProvisioner(sessionPeer),
      topic: unique('session-renew'),
      sessions: true,
      sessionIdleTimeoutMs: 100,
      sessionRetryDelayMs: 50,
      retryOptions: fastRetries,
    });
    try {
      await transport.start();
      const name = unique('evt');
      const { seen, handler } = recorder(async () => {
        await sleep(4_500);
        return { kind: 'ack' };
      });
      await transport.subscribe({ group: unique('g'), eventNames: [name] }, handler);
      const key = unique('key');
      const sent = [testWireMessage({ name, orderingKey: key }), testWireMessage({ name, orderingKey: key })];
      await transport.publish(sent);
      await waitFor(() => seen.length === 2, 15_000, 'both messages of the session');
      expect(seen.map((item) => item.message.headers['herald-id'])).toEqual(ids(sent));
      expect(seen.map((item) => item.message.deliveryAttempt)).toEqual([1, 1]);
      expect(sessionPeer.stats.renewSessionLocks).toBeGreaterThanOrEqual(2);
      expect(sessionPeer.stats.dispositions.lockLost).toBe(0);
    } finally {
      await transport.stop();
      await sessionPeer.stop();
    }
  }, 25_000);
});

describe('topology', () => {
  it('with a topic per event, a group gets one subscription per topic and dead letters are read from each', async () => {
    const prefix = unique('per-event');
    const transport = await started({ topic: (eventName) => `${prefix}.${eventName}` });
    const [first, second] = [unique('evt'), unique('evt')];
    const group = unique('g');
    const { seen, handler } = recorder(() => ({ kind: 'dead-letter', reason: 'per-event' }));
    await transport.subscribe({ group, eventNames: [first, second] }, handler);
    expect(peer.hasTopic(`${prefix}.${first}`) && peer.hasTopic(`${prefix}.${second}`)).toBe(true);
    const sent = [testWireMessage({ name: first }), testWireMessage({ name: second })];
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(() => seen.length === 2, 10_000, 'both events');
    const letters = await eventually(
      () => transport.readDeadLetters!(group, 10),
      (found) => found.length === 2,
    );
    expect(letters.map((letter) => letter.headers['herald-id']).sort()).toEqual(ids(sent).sort());
  });

  it('routes by the correlation rules: a group only gets the events it subscribed to', async () => {
    const topic = unique('routing');
    const transport = await started({ topic });
    const [wanted, other] = [unique('evt'), unique('evt')];
    const { seen, handler } = recorder();
    await transport.subscribe({ group: unique('g'), eventNames: [wanted] }, handler);
    const sent = [testWireMessage({ name: other }), testWireMessage({ name: wanted })];
    await transport.publish(sent);
    await waitFor(() => seen.length === 1, 10_000, 'the wanted event');
    await sleep(300);
    expect(seen.map((item) => item.message.headers['herald-name'])).toEqual([wanted]);
  });

  it('subscription rules: one correlation filter on subject per event, plus the retry rule', () => {
    const rules = subscriptionRules('ordering', ['OrderCreated', 'Order Shipped/v2', 'OrderCreated']);
    expect(rules.map((rule) => rule.filter)).toEqual([
      { subject: 'OrderCreated' },
      { subject: 'Order Shipped/v2' },
      { subject: RETRY_SUBJECT, to: 'ordering' },
    ]);
    for (const rule of rules) expect(rule.name).toMatch(/^[A-Za-z0-9._-]{1,50}$/);
    expect(new Set(rules.map((rule) => rule.name)).size).toBe(3);
  });

  it('default subscription names are valid, stable and distinct for long or unusual group names', () => {
    expect(defaultSubscriptionName('ordering.projections')).toBe('ordering.projections');
    const long = `billing.${'very-long-handler-group-name-'.repeat(3)}`;
    const shortened = defaultSubscriptionName(long);
    expect(shortened).toMatch(/^[A-Za-z0-9._-]{1,50}$/);
    expect(defaultSubscriptionName(long)).toBe(shortened);
    expect(defaultSubscriptionName(`${long}x`)).not.toBe(shortened);
    expect(defaultSubscriptionName('a b/c')).toMatch(/^[A-Za-z0-9._-]{1,50}$/);
    expect(defaultSubscriptionName('a b/c')).not.toBe(defaultSubscriptionName('a-b-c'));
  });
});

describe('options and lifecycle', () => {
  it('rejects bad options with a ConfigurationError', () => {
    const make = (options: unknown) => () =>
      azureServiceBusTransport(options as AzureServiceBusTransportOptions);
    expect(make({})).toThrow(ConfigurationError);
    expect(make({ connectionString: 'not a connection string' })).toThrow(ConfigurationError);
    expect(make({ fullyQualifiedNamespace: 'x.servicebus.windows.net' })).toThrow(ConfigurationError);
    expect(make({ connectionString: peer.connectionString, topic: 'bad topic!' })).toThrow(
      ConfigurationError,
    );
    expect(make({ connectionString: peer.connectionString, maxConcurrentCalls: 0 })).toThrow(
      ConfigurationError,
    );
    expect(make({ connectionString: peer.connectionString, lockDurationMs: 1_000 })).toThrow(
      ConfigurationError,
    );
    expect(make({ client: {}, autoCreate: true })).toThrow(ConfigurationError);
  });

  it('declares ordering by key only with sessions', () => {
    const plain = azureServiceBusTransport({ connectionString: peer.connectionString });
    const ordered = azureServiceBusTransport({ connectionString: peer.connectionString, sessions: true });
    expect(plain.capabilities).toEqual({
      orderedByKey: false,
      persistent: true,
      deadLetter: true,
      batchPublish: true,
      delayedRedelivery: true,
      consumerGroups: true,
    });
    expect(ordered.capabilities.orderedByKey).toBe(true);
  });

  it('publish before start and after stop rejects with a TransportError; health follows the lifecycle', async () => {
    const transport = azureServiceBusTransport({
      connectionString: peer.connectionString,
      provisioner: peerProvisioner(peer),
      topic: unique('lifecycle'),
      retryOptions: fastRetries,
    });
    await expect(transport.publish([testWireMessage()])).rejects.toBeInstanceOf(TransportError);
    await transport.start();
    expect(await transport.health()).toEqual({ connected: true });
    const name = unique('evt');
    const { seen, handler } = recorder();
    await transport.subscribe({ group: unique('g'), eventNames: [name] }, handler);
    await transport.publish([testWireMessage({ name, payload: { n: 1 } })]);
    await waitFor(() => seen.length === 1, 10_000, 'the delivery');
    expect(payloadOfTestMessage<{ n: number }>(seen[0]!.message.body)).toEqual({ n: 1 });
    await transport.stop();
    await expect(transport.publish([testWireMessage()])).rejects.toBeInstanceOf(TransportError);
    expect((await transport.health()).connected).toBe(false);
    await transport.stop();
  });

  it('a handler that throws (which core never does) is treated as a retry, not a crash', async () => {
    const transport = await started({ topic: unique('throws') });
    const name = unique('evt');
    const { seen, handler } = recorder((_message, index) => {
      if (index === 0) throw new Error('boom');
      return { kind: 'ack' };
    });
    await transport.subscribe({ group: unique('g'), eventNames: [name] }, handler);
    await transport.publish([testWireMessage({ name, id: uuidv7() })]);
    await waitFor(() => seen.length === 2, 10_000, 'the retried delivery');
    expect(seen[1]!.message.deliveryAttempt).toBe(2);
  });
});
