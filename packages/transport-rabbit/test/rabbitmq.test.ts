import {
  type BusEventMap,
  ConfigurationError,
  createIntegrationEventBus,
  type DeliveryHandler,
  defineEvent,
  type IncomingMessage,
  type IntegrationEventBus,
  memoryEventLog,
  silentLogger,
  sleep,
  type Transport,
  TransportError,
} from '@herald/core';
import { payloadOfTestMessage, testWireMessage } from '@herald/testkit';
import { type ChannelModel, connect, type GetMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RabbitMqHeaders, type RabbitMqTransport, rabbitMqTransport } from '../src/index.js';
import { rabbitUrl, requireRabbit, TestBroker, unique, waitUntil } from './helpers.js';

beforeAll(requireRabbit);

const broker = new TestBroker();
let raw: ChannelModel;
beforeAll(async () => {
  raw = await connect(rabbitUrl);
  raw.on('error', () => undefined);
});
afterAll(async () => {
  await raw?.close().catch(() => undefined);
  await broker.cleanup();
});

// Everything a test starts is stopped afterwards, even when it fails.
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function started(transport: RabbitMqTransport): Promise<RabbitMqTransport> {
  cleanups.push(() => transport.stop());
  await transport.start();
  return transport;
}

async function startedBus(bus: IntegrationEventBus): Promise<IntegrationEventBus> {
  cleanups.push(() => bus.stop());
  await bus.start();
  return bus;
}

/** Records deliveries and answers with `decide` (default ack). */
function recorder(
  decide: (
    message: IncomingMessage,
    index: number,
  ) => ReturnType<DeliveryHandler> | Awaited<ReturnType<DeliveryHandler>> = () => ({ kind: 'ack' }),
) {
  const seen: IncomingMessage[] = [];
  const handler: DeliveryHandler = async (message) => {
    const index = seen.filter((m) => m.headers['herald-id'] === message.headers['herald-id']).length;
    seen.push(message);
    return decide(message, index);
  };
  return { seen, handler, ids: () => new Set(seen.map((m) => m.headers['herald-id'])) };
}

function record<K extends keyof BusEventMap>(bus: IntegrationEventBus, name: K): BusEventMap[K][] {
  const seen: BusEventMap[K][] = [];
  bus.on(name, (event) => seen.push(event));
  return seen;
}

/** Bus options small enough to see dead letters at once. */
const fastBus = {
  localRetryTimes: 0,
  maxRetryTimes: 0,
  localFailedRetryInterval: 10,
  failedRetryInterval: 50,
  retryBackoff: () => 50,
  minimumRetryInterval: 1_000,
  pollingInterval: 50,
  handlerTimeout: 5_000,
};

describe('options', () => {
  it('rejects bad options with a ConfigurationError', () => {
    expect(() => rabbitMqTransport({ url: '' })).toThrow(ConfigurationError);
    expect(() => rabbitMqTransport({ url: 'http://127.0.0.1:5672' })).toThrow(ConfigurationError);
    expect(() => rabbitMqTransport({ url: rabbitUrl, exchange: 'amq.topic' })).toThrow(ConfigurationError);
    expect(() => rabbitMqTransport({ url: rabbitUrl, queueType: 'stream' as never })).toThrow(
      ConfigurationError,
    );
    expect(() => rabbitMqTransport({ url: rabbitUrl, retryDelays: [] })).toThrow(ConfigurationError);
    expect(() => rabbitMqTransport({ url: rabbitUrl, retryDelays: [1000, 1000] })).toThrow(
      ConfigurationError,
    );
    expect(() => rabbitMqTransport({ url: rabbitUrl, prefetch: 0 })).toThrow(ConfigurationError);
    expect(() => rabbitMqTransport({ url: rabbitUrl, confirmWindow: 1.5 })).toThrow(ConfigurationError);
  });

  it('promises order per key only with single-active-consumer queues', () => {
    expect(rabbitMqTransport({ url: rabbitUrl }).capabilities).toEqual({
      orderedByKey: false,
      persistent: true,
      deadLetter: true,
      batchPublish: true,
      delayedRedelivery: true,
      consumerGroups: true,
    });
    expect(rabbitMqTransport({ url: rabbitUrl, singleActiveConsumer: true }).capabilities.orderedByKey).toBe(
      true,
    );
  });

  it('names one queue per group, one retry queue per delay tier and a dead-letter queue', () => {
    const transport = rabbitMqTransport({
      url: rabbitUrl,
      exchange: 'shop',
      retryDelays: [30_000, 500, 5_000, 300_000],
    });
    expect(transport.topology.queuesOf('billing')).toEqual({
      queue: 'shop.billing',
      retry: [
        { delayMs: 500, queue: 'shop.billing.retry.500ms' },
        { delayMs: 5_000, queue: 'shop.billing.retry.5s' },
        { delayMs: 30_000, queue: 'shop.billing.retry.30s' },
        { delayMs: 300_000, queue: 'shop.billing.retry.5m' },
      ],
      deadLetter: 'shop.billing.dead-letter',
    });
    // Rounds up to the next tier; beyond the last tier, the last one.
    expect(transport.topology.retryQueueFor('billing', 0).delayMs).toBe(500);
    expect(transport.topology.retryQueueFor('billing', 501).delayMs).toBe(5_000);
    expect(transport.topology.retryQueueFor('billing', 3_600_000).delayMs).toBe(300_000);
  });

  it('rejects publish and subscribe before start with a TransportError', async () => {
    const transport = broker.transport();
    await expect(transport.publish([testWireMessage()])).rejects.toBeInstanceOf(TransportError);
    await expect(
      transport.subscribe({ group: 'g', eventNames: ['e'] }, recorder().handler),
    ).rejects.toBeInstanceOf(TransportError);
  });

  it('fails start() with a TransportError when the broker cannot be reached', async () => {
    // Port 1 on loopback: connection refused at once.
    const transport = rabbitMqTransport({ url: 'amqp://herald:herald@127.0.0.1:1', connectTimeoutMs: 500 });
    const error = await transport.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).retriable).toBe(true);
    expect((error as Error).message).toMatch(/not reachable within 500 ms/);
    await transport.stop();
  });
});

describe('envelope on the wire', () => {
  it('carries envelope fields as AMQP properties and the rest as headers, persistent', async () => {
    const transport = await started(broker.transport());
    const name = unique('wire.mapped');
    // A plain queue bound by us: what any AMQP tool or foreign consumer sees.
    const channel = await raw.createChannel();
    cleanups.push(() => channel.close());
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, broker.exchange, name);
    const message = testWireMessage({
      name,
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-tenant': 'acme' },
    });
    const [outcome] = await transport.publish([message]);
    expect(outcome).toEqual({ id: message.id, ok: true });

    const got: GetMessage[] = [];
    await waitUntil(
      async () => {
        const message = await channel.get(queue, { noAck: true });
        if (message) got.push(message);
        return got.length > 0;
      },
      5_000,
      () => 'nothing arrived',
    );
    const { properties, fields, content } = got[0]!;
    expect(fields.routingKey).toBe(name);
    expect(properties.messageId).toBe(message.headers['herald-id']);
    expect(properties.type).toBe(name);
    expect(properties.correlationId).toBe(message.headers['herald-correlation-id']);
    expect(properties.contentType).toBe('application/json');
    expect(properties.deliveryMode).toBe(2);
    expect(properties.timestamp).toBe(Math.floor(Date.parse(message.headers['herald-occurred-at']!) / 1000));
    expect(properties.headers).toMatchObject({
      traceparent: message.headers.traceparent,
      'x-tenant': 'acme',
      'herald-occurred-at': message.headers['herald-occurred-at'],
      'herald-source': 'testkit',
      'herald-version': '1',
    });
    // Moved into properties, not duplicated.
    expect(properties.headers).not.toHaveProperty('herald-id');
    expect(properties.headers).not.toHaveProperty('herald-name');
    expect(Buffer.compare(content, Buffer.from(message.body))).toBe(0);
  });

  it('round-trips headers that collide with broker/transport names and values too long for a property', async () => {
    const transport = await started(broker.transport());
    const name = unique('wire.edge');
    const got = recorder();
    await transport.subscribe({ group: unique('edge'), eventNames: [name] }, got.handler);
    const longCorrelation = 'c'.repeat(300);
    const base = testWireMessage({
      name,
      headers: { 'x-death': 'mine', 'x-herald-attempt': '7', 'x-delivery-count': 'x' },
    });
    const message = { ...base, headers: { ...base.headers, 'herald-correlation-id': longCorrelation } };
    await transport.publish([message]);
    await waitUntil(
      () => got.seen.length === 1,
      5_000,
      () => 'not delivered',
    );
    expect({ ...got.seen[0]!.headers }).toEqual({ ...message.headers });
    expect(got.seen[0]!.deliveryAttempt).toBe(1);
  });

  it('refuses a message whose headers cannot be encoded, per message, and sends the rest', async () => {
    const transport = await started(broker.transport());
    const name = unique('wire.huge');
    const huge = testWireMessage({ name, headers: { 'x-huge': 'h'.repeat(200_000) } });
    const fine = testWireMessage({ name });
    const outcomes = await transport.publish([huge, fine]);
    expect(outcomes[0]).toMatchObject({ id: huge.id, ok: false });
    const refused = (outcomes[0] as { error: TransportError }).error;
    expect(refused).toBeInstanceOf(TransportError);
    expect(refused.retriable).toBe(false);
    expect(outcomes[1]).toEqual({ id: fine.id, ok: true });
    // The channel survived the refused message.
    expect((await transport.publish([testWireMessage({ name })]))[0]!.ok).toBe(true);
  });
});

describe('publisher confirms', () => {
  it('confirms 5000 messages through the window, not one round trip each, and all arrive', async () => {
    const transport = await started(broker.transport({ confirmWindow: 500 }));
    const name = unique('confirm.window');
    const group = unique('window');
    const got = recorder();
    await transport.subscribe({ group, eventNames: [name] }, got.handler);
    const sent = Array.from({ length: 5000 }, (_, index) =>
      testWireMessage({
        name,
        payload: { index },
        ...(index % 3 === 0 ? { orderingKey: `k${index % 7}` } : {}),
      }),
    );
    const outcomes = await transport.publish(sent);
    expect(outcomes.map((outcome) => outcome.id)).toEqual(sent.map((message) => message.id));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    const { publisher } = transport.metrics();
    // Many messages awaited their confirms at once, capped by the window.
    expect(publisher.maxInFlight).toBeGreaterThan(1);
    expect(publisher.maxInFlight).toBeLessThanOrEqual(500);
    expect(publisher.confirmed).toBeGreaterThanOrEqual(5000);
    await waitUntil(
      () => got.ids().size === 5000,
      30_000,
      () => `${got.ids().size} of 5000 delivered`,
    );
  });
});

describe('retries and dead letters (transport level)', () => {
  it.each(['classic', 'quorum'] as const)(
    'a retry goes through the TTL tier queue (%s), counts attempts in a header and keeps headers exact',
    async (queueType) => {
      const transport = await started(broker.transport({ retryDelays: [300, 2_000], queueType }));
      const name = unique('retry.tier');
      const times: number[] = [];
      const got = recorder((_message, index) => {
        times.push(Date.now());
        return index < 2 ? { kind: 'retry', delayMs: 10, reason: 'busy' } : { kind: 'ack' };
      });
      await transport.subscribe({ group: unique('retry'), eventNames: [name] }, got.handler);
      const message = testWireMessage({ name });
      await transport.publish([message]);
      await waitUntil(
        () => got.seen.length === 3,
        10_000,
        () => `${got.seen.length} deliveries`,
      );
      expect(got.seen.map((m) => m.deliveryAttempt)).toEqual([1, 2, 3]);
      for (const delivery of got.seen) expect({ ...delivery.headers }).toEqual({ ...message.headers });
      // Rounded up to the 300 ms tier (a lower bound only: the broker may be slower, never faster).
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(250);
      await sleep(500);
      expect(got.seen).toHaveLength(3);
      expect(Object.values(transport.metrics().consumers)[0]).toMatchObject({ retried: 2, acked: 1 });
    },
  );

  it('a handler that rejects is treated as retry and the consumer keeps consuming', async () => {
    const transport = await started(broker.transport({ retryDelays: [100] }));
    const name = unique('retry.reject');
    const got = recorder((message, index) => {
      if (message.headers['x-kind'] === 'bad' && index === 0) throw new Error('handler exploded');
      return { kind: 'ack' };
    });
    await transport.subscribe({ group: unique('reject'), eventNames: [name] }, got.handler);
    const bad = testWireMessage({ name, headers: { 'x-kind': 'bad' } });
    const good = testWireMessage({ name });
    await transport.publish([bad, good]);
    await waitUntil(
      () => got.seen.length === 3,
      10_000,
      () => `${got.seen.length} deliveries`,
    );
    const badDeliveries = got.seen.filter((m) => m.headers['herald-id'] === bad.id);
    expect(badDeliveries.map((m) => m.deliveryAttempt)).toEqual([1, 2]);
  });

  it('a dead-lettered message keeps its properties in the DLQ with the reason headers; reading is not destructive', async () => {
    const transport = await started(broker.transport());
    const name = unique('dlq.raw');
    const group = unique('dlq');
    const got = recorder(() => ({ kind: 'dead-letter', reason: 'HERALD_TEST: no good' }));
    await transport.subscribe({ group, eventNames: [name] }, got.handler);
    const messages = [testWireMessage({ name }), testWireMessage({ name })];
    await transport.publish(messages);
    const dlq = transport.topology.queuesOf(group).deadLetter;
    const channel = await raw.createChannel();
    cleanups.push(() => channel.close());
    await waitUntil(
      async () => (await channel.checkQueue(dlq)).messageCount === 2,
      5_000,
      () => 'DLQ not filled',
    );

    const first = await transport.readDeadLetters(group, 10);
    const second = await transport.readDeadLetters(group, 1);
    expect(first.map((letter) => letter.headers['herald-id'])).toEqual(messages.map((m) => m.id));
    expect(second.map((letter) => letter.headers['herald-id'])).toEqual([messages[0]!.id]);
    expect(first[0]!.reason).toBe('HERALD_TEST: no good');
    expect({ ...first[0]!.headers }).toEqual({ ...messages[0]!.headers });
    expect((await channel.checkQueue(dlq)).messageCount).toBe(2);

    // As a RabbitMQ tool sees it.
    const letter = await channel.get(dlq, { noAck: false });
    if (!letter) throw new Error('DLQ empty');
    expect(letter.properties.messageId).toBe(messages[0]!.id);
    expect(letter.properties.headers).toMatchObject({
      [RabbitMqHeaders.deadLetterReason]: 'HERALD_TEST: no good',
      [RabbitMqHeaders.deadLetterGroup]: group,
      [RabbitMqHeaders.attempt]: 1,
    });
    channel.nack(letter, false, true);
    expect(await transport.readDeadLetters(unique('never-declared'), 10)).toEqual([]);
  });

  it('subscribe rejects with a non-retriable TransportError when the queue exists with other settings', async () => {
    const group = unique('conflict');
    const channel = await raw.createChannel();
    cleanups.push(() => channel.close());
    const probe = broker.transport({ queueType: 'quorum' });
    await channel.assertQueue(probe.topology.queuesOf(group).queue, { durable: false, autoDelete: true });
    const transport = await started(probe);
    const error = await transport
      .subscribe({ group, eventNames: ['x'] }, recorder().handler)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).retriable).toBe(false);
    expect((error as Error).message).toContain('PRECONDITION_FAILED');
    // The connection survived: publishing still works.
    expect((await transport.publish([testWireMessage()]))[0]!.ok).toBe(true);
  });
});

describe('ordering with single-active-consumer', () => {
  it('a held keyed retry goes back to the queue with the later messages of its key, in order, when the consumer closes', async () => {
    const group = unique('sac');
    const name = unique('sac.hold');
    const first = await started(broker.transport({ singleActiveConsumer: true, queueType: 'quorum' }));
    const a = recorder((message) =>
      payloadOfTestMessage<{ i: number }>(message.body).i === 0
        ? { kind: 'retry', delayMs: 60_000, reason: 'hold' }
        : { kind: 'ack' },
    );
    const handle = await first.subscribe({ group, eventNames: [name] }, a.handler);
    const sent = [0, 1, 2].map((i) => testWireMessage({ name, orderingKey: 'key-1', payload: { i } }));
    await first.publish(sent);
    await waitUntil(
      () => a.seen.length === 1,
      5_000,
      () => 'first delivery missing',
    );
    await sleep(200);
    expect(a.seen, 'later messages of the key wait behind the held retry').toHaveLength(1);
    await handle.close();

    const second = await started(broker.transport({ singleActiveConsumer: true, queueType: 'quorum' }));
    const b = recorder();
    await second.subscribe({ group, eventNames: [name] }, b.handler);
    await waitUntil(
      () => b.seen.length === 3,
      10_000,
      () => `${b.seen.length} of 3 redelivered`,
    );
    expect(b.seen.map((m) => payloadOfTestMessage<{ i: number }>(m.body).i)).toEqual([0, 1, 2]);
    expect(b.seen[0]!.deliveryAttempt).toBeGreaterThan(1);
  });
});

describe('through a real bus', () => {
  const OrderPlaced = defineEvent<{ orderId: string }>(unique('ordering.order-placed'));

  function service(
    name: string,
    transport: Transport,
    handle?: (event: { orderId: string }) => Promise<void>,
  ) {
    let builder = createIntegrationEventBus({ service: name, logger: silentLogger })
      .useTransport(transport)
      .useEventLog(memoryEventLog())
      .configure(fastBus);
    if (handle) builder = builder.handle(OrderPlaced, handle);
    return builder.build();
  }

  it('a poison message (handler always throws) goes dead in the inbox and the consumer keeps going', async () => {
    const calls: string[] = [];
    const billingName = unique('billing');
    const billing = service(billingName, broker.transport(), async (event) => {
      calls.push(event.orderId);
      if (event.orderId === 'poison') throw new Error('cannot bill this order');
    });
    const dead = record(billing, 'dead-lettered');
    await startedBus(billing);
    const ordering = await startedBus(service(unique('ordering'), broker.transport()));

    await ordering.publish(new OrderPlaced({ orderId: 'poison' }));
    await ordering.publish(new OrderPlaced({ orderId: 'fine' }));
    await waitUntil(
      () => calls.includes('fine') && dead.length >= 1,
      20_000,
      () => `calls ${calls.join(',')}, dead ${dead.length}`,
    );
    await ordering.publish(new OrderPlaced({ orderId: 'after' }));
    await waitUntil(
      () => calls.includes('after'),
      20_000,
      () => `calls ${calls.join(',')}`,
    );

    expect(dead[0]).toMatchObject({ stage: 'handle', eventName: OrderPlaced.eventName });
    expect(dead[0]!.reason).toContain('cannot bill this order');
    const inbox = billing.eventLogs.find((log) => log.inbox)!.inbox!;
    const deadRecords = await inbox.list({ status: 'dead' });
    expect(deadRecords.map((r) => r.lastError)).toEqual([expect.stringContaining('cannot bill this order')]);
    expect(calls.filter((id) => id === 'poison')).toHaveLength(1);
    // Handler failures live in the inbox; the broker's dead-letter queue stays empty.
    expect(await billing.transport.readDeadLetters!(billingName, 10)).toEqual([]);
  });

  it('malformed messages from a foreign publisher land in the DLQ with the reason; the next message is handled', async () => {
    const handled: string[] = [];
    const billingName = unique('billing');
    const transport = broker.transport();
    const billing = service(billingName, transport, async (event) => void handled.push(event.orderId));
    const dead = record(billing, 'dead-lettered');
    await startedBus(billing);

    // A foreign publisher: plain amqplib, no Herald.
    const channel = await raw.createConfirmChannel();
    cleanups.push(() => channel.close());
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
    channel.publish(broker.exchange, OrderPlaced.eventName, garbage, { persistent: true });
    channel.publish(broker.exchange, OrderPlaced.eventName, Buffer.from('{"orderId": '), {
      persistent: true,
      messageId: '0190b8f5-7c3e-7000-8000-000000000001',
      type: OrderPlaced.eventName,
      contentType: 'application/json',
      headers: {
        'herald-version': 1, // a number, not a string: still readable
        'herald-occurred-at': new Date().toISOString(),
        'herald-source': 'a-foreign-publisher',
        'x-foreign': 'yes',
      },
    });
    await channel.waitForConfirms();

    const ordering = await startedBus(service(unique('ordering'), broker.transport()));
    await ordering.publish(new OrderPlaced({ orderId: 'after-garbage' }));
    await waitUntil(
      () => handled.includes('after-garbage'),
      20_000,
      () => `handled ${handled.join(',')}`,
    );
    await waitUntil(
      () => dead.length >= 2,
      10_000,
      () => `${dead.length} dead-lettered`,
    );
    expect(dead.map((event) => event.stage)).toEqual(['receive', 'receive']);

    const letters = await transport.readDeadLetters(billingName, 10);
    expect(letters).toHaveLength(2);
    expect(letters.every((letter) => letter.reason.includes('HERALD_MALFORMED_MESSAGE'))).toBe(true);
    expect([...letters[0]!.body]).toEqual([...garbage]);
    expect(letters[0]!.headers).toEqual({});
    expect(letters[1]!.headers).toMatchObject({
      'herald-id': '0190b8f5-7c3e-7000-8000-000000000001',
      'herald-name': OrderPlaced.eventName,
      'herald-version': '1',
      'x-foreign': 'yes',
    });
    expect(Object.keys(letters[1]!.headers).some((key) => key.startsWith('x-herald-'))).toBe(false);
  });
});
