import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import {
  type BusEventMap,
  ConfigurationError,
  createIntegrationEventBus,
  type DefinedEvent,
  type DeliveryHandler,
  defineEvent,
  type EventLog,
  type IncomingMessage,
  type IntegrationEventBus,
  memoryEventLog,
  silentLogger,
  TransportError,
} from '@herald/core';
import { payloadOfTestMessage, testWireMessage } from '@herald/testkit';
import type { KafkaMessage, Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { asTransportError } from '../src/errors.js';
import { producerStateLost, RenewableProducer } from '../src/idempotent-producer.js';
import {
  DeadLetterHeaders,
  KafkaBrokerUnreachableError,
  KafkaTopicMissingError,
  type KafkaTransport,
  kafkaTopicName,
  kafkaTransport,
} from '../src/index.js';
import { publishBatch } from '../src/publisher.js';
import type { TopicManager } from '../src/topology.js';
import {
  brokers,
  deleteRunTopics,
  rawKafka,
  requireBroker,
  runId,
  sleep,
  testLogger,
  testTransport,
  waitFor,
} from './helpers.js';

beforeAll(requireBroker);

const kafka = rawKafka();
const admin = kafka.admin();
beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());
afterAll(deleteRunTopics);

// Everything a test starts is stopped afterwards, even when it fails.
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) await cleanup().catch(() => undefined);
});

async function started(transport: KafkaTransport): Promise<KafkaTransport> {
  cleanups.push(() => transport.stop());
  await transport.start();
  return transport;
}

async function startedBus(bus: IntegrationEventBus): Promise<IntegrationEventBus> {
  cleanups.push(() => bus.stop());
  await bus.start();
  return bus;
}

let counter = 0;
/** An event name no other test (or run) uses. */
function eventName(label: string): string {
  counter += 1;
  return `kafka-test.${label}-${runId}-${counter}`;
}

/** Records every delivery and acknowledges it. */
function recorder(decide: (message: IncomingMessage) => Promise<void> | void = () => undefined) {
  const items: IncomingMessage[] = [];
  const handler: DeliveryHandler = async (message) => {
    items.push(message);
    await decide(message);
    return { kind: 'ack' };
  };
  return { items, handler, ids: () => items.map((item) => item.headers['herald-id']!) };
}

/** Reads every record of a topic with a raw kafkajs consumer (a foreign consumer's view). */
async function readTopic(topic: string, expected: number, timeoutMs = 15_000): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({
    groupId: `herald-test-reader-${runId}-${++counter}`,
    maxWaitTimeInMs: 100,
  });
  const seen: KafkaMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message);
      },
    });
    await waitFor(
      () => seen.length >= expected,
      timeoutMs,
      () => `read ${seen.length} of ${expected} records of ${topic}`,
    );
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

/** Bus options small enough to see retries and dead letters quickly. */
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

function record<K extends keyof BusEventMap>(bus: IntegrationEventBus, name: K): BusEventMap[K][] {
  const seen: BusEventMap[K][] = [];
  bus.on(name, (event) => seen.push(event));
  return seen;
}

describe('options and clear errors', () => {
  it("keeps a refused connection retriable after kafkajs' own retries gave up (the relay then waits out the broker)", () => {
    const errors = createRequire(import.meta.url)('kafkajs/src/errors.js') as Record<
      string,
      new (
        ...args: unknown[]
      ) => Error
    >;
    const refused = new errors.KafkaJSConnectionError!(
      'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
    );
    const exhausted = new errors.KafkaJSNumberOfRetriesExceeded!(refused, { retryCount: 5, retryTime: 100 });
    expect((exhausted as { retriable?: boolean }).retriable).toBe(false); // kafkajs' own verdict
    const wrapped = asTransportError(exhausted, 'checking topic "t"');
    expect(wrapped).toBeInstanceOf(TransportError);
    expect((wrapped as TransportError).retriable).toBe(true);
    const refusedForGood = new errors.KafkaJSNonRetriableError!('topic authorization failed');
    expect((asTransportError(refusedForGood, 'publishing') as TransportError).retriable).toBe(false);
  });

  it('rejects bad options with a ConfigurationError', () => {
    expect(() => kafkaTransport({ brokers: [] })).toThrow(ConfigurationError);
    expect(() => kafkaTransport({ brokers: 'no-port' })).toThrow(ConfigurationError);
    expect(() =>
      kafkaTransport({
        brokers: ['127.0.0.1:9092'],
        consumer: { sessionTimeout: 1000, heartbeatInterval: 2000 },
      }),
    ).toThrow(ConfigurationError);
    expect(() => kafkaTransport({ brokers: ['127.0.0.1:9092'], topics: { replicationFactor: 0 } })).toThrow(
      ConfigurationError,
    );
    expect(() => kafkaTransport({ brokers: ['127.0.0.1:9092'], consumer: { concurrency: 0 } })).toThrow(
      /consumer\.concurrency/,
    );
    expect(() =>
      kafkaTransport({ brokers: ['127.0.0.1:9092'], sharedTopics: 'yes' as unknown as boolean }),
    ).toThrow(/sharedTopics/);
    expect(kafkaTransport({ brokers: ['127.0.0.1:9092'] }).options.consumer.concurrency).toBe(256);
    expect(
      kafkaTransport({ brokers: ['127.0.0.1:9092'], topicFor: (name) => name }).options.sharedTopics,
    ).toBe(true);
    expect(
      kafkaTransport({ brokers: ['127.0.0.1:9092'], topicFor: (name) => name, sharedTopics: false }).options
        .sharedTopics,
    ).toBe(false);
    expect(kafkaTransport({ brokers: '127.0.0.1:9092, 127.0.0.1:9094' }).options.brokers).toEqual([
      '127.0.0.1:9092',
      '127.0.0.1:9094',
    ]);
  });

  it('makes any event name a legal topic name, keeping legal names and separating sanitized ones', () => {
    expect(kafkaTopicName('ordering.order-placed_v2')).toBe('ordering.order-placed_v2');
    const slash = kafkaTopicName('orders/placed');
    expect(slash).toMatch(/^orders_placed-[0-9a-f]{10}$/);
    expect(slash).not.toBe(kafkaTopicName('orders_placed'));
    expect(kafkaTopicName('..')).toMatch(/^topic-[0-9a-f]{10}$/);
    const long = kafkaTopicName('x'.repeat(400));
    expect(long.length).toBeLessThanOrEqual(249);
    expect(long).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it('fails start() with KafkaBrokerUnreachableError within the start timeout when no broker listens', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });
    const transport = kafkaTransport({
      brokers: [`127.0.0.1:${port}`],
      startTimeout: 2_000,
      logger: testLogger,
    });
    cleanups.push(() => transport.stop());
    const began = Date.now();
    const error = await transport.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - began;
    expect(error).toBeInstanceOf(KafkaBrokerUnreachableError);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect(elapsed).toBeLessThan(2_000 + 1_500);
    await expect(transport.publish([testWireMessage()])).rejects.toBeInstanceOf(TransportError);
  });

  it('health() reports the cluster while started, and not connected before start or after stop', async () => {
    const transport = testTransport();
    cleanups.push(() => transport.stop());
    expect((await transport.health()).connected).toBe(false);
    await transport.start();
    const up = await transport.health();
    expect(up.connected).toBe(true);
    expect(up.detail).toContain(brokers[0]!);
    await transport.stop();
    expect(await transport.health()).toEqual({ connected: false, detail: 'transport stopped' });
  });

  it('with autoCreateTopics off, a missing topic fails publish and subscribe with KafkaTopicMissingError naming it', async () => {
    const transport = await started(testTransport({ autoCreateTopics: false }));
    const missing = eventName('missing');
    const topic = transport.options.topicFor(missing);
    const [outcome] = await transport.publish([testWireMessage({ name: missing })]);
    expect(outcome!.ok).toBe(false);
    const publishError = (outcome as { error: unknown }).error;
    expect(publishError).toBeInstanceOf(KafkaTopicMissingError);
    expect((publishError as KafkaTopicMissingError).topics).toEqual([topic]);
    expect((publishError as Error).message).toContain(topic);

    const subscribeError = await transport
      .subscribe({ group: `g-${runId}-missing`, eventNames: [missing] }, recorder().handler)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(subscribeError).toBeInstanceOf(KafkaTopicMissingError);
    expect((subscribeError as Error).message).toContain(topic);
    expect(await admin.listTopics()).not.toContain(topic);
  });

  it('topics.declare: start() creates the declared topics, or fails naming the missing one when creation is off', async () => {
    const declared = eventName('declared');
    const strict = testTransport({ autoCreateTopics: false, topics: { declare: [declared] } });
    cleanups.push(() => strict.stop());
    const error = await strict.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KafkaTopicMissingError);
    expect((error as KafkaTopicMissingError).topics).toEqual([strict.options.topicFor(declared)]);

    await started(testTransport({ topics: { declare: [declared] } }));
    expect(await admin.listTopics()).toContain(strict.options.topicFor(declared));
  });

  it('a message for a missing topic fails alone; the rest of the batch is confirmed', async () => {
    const creating = await started(testTransport());
    const present = eventName('present');
    await creating.subscribe({ group: `g-${runId}-present`, eventNames: [present] }, recorder().handler);
    const strict = await started(testTransport({ autoCreateTopics: false }));
    const absent = eventName('absent');
    const outcomes = await strict.publish([
      testWireMessage({ name: present }),
      testWireMessage({ name: absent }),
    ]);
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false]);
  });

  it('creates event topics with the configured partitions and the dead-letter topic with one', async () => {
    const transport = await started(testTransport({ topics: { numPartitions: 5 } }));
    const name = eventName('created');
    const group = `g-${runId}-created`;
    await transport.subscribe({ group, eventNames: [name] }, recorder().handler);
    const eventTopic = transport.options.topicFor(name);
    const deadLetterTopic = transport.options.deadLetterTopicFor(group);
    const metadata = await admin.fetchTopicMetadata({ topics: [eventTopic, deadLetterTopic] });
    const partitions = Object.fromEntries(
      metadata.topics.map((topic) => [topic.name, topic.partitions.length]),
    );
    expect(partitions).toEqual({ [eventTopic]: 5, [deadLetterTopic]: 1 });
  });
});

describe('kafkajs 2.2.4 workarounds', () => {
  const kafkajsErrors = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
    createErrorFromCode: (code: number) => Error;
  };
  const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;

  it('takes a new idempotent producer once the broker lost the old one’s state (kafkajs never resets its sequences)', async () => {
    const logged: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => void logged.push(message) };
    const kafka = rawKafka();
    const producers: Producer[] = [];
    const renewable = new RenewableProducer(() => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      producers.push(producer);
      return producer;
    }, logger);
    cleanups.push(() => renewable.disconnect());
    const topic = `herald-test-${runId}.renew`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }).finally(() => admin.disconnect());
    const first = await renewable.ready();
    await first.send({ topic, acks: -1, messages: [{ value: 'one' }] });

    const lost = kafkajsErrors.createErrorFromCode(OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(producerStateLost(lost)).toBe(true);
    expect(producerStateLost(new TransportError('wrapped', { cause: lost }))).toBe(true);
    expect(producerStateLost(new Error('connection refused'))).toBe(false);
    renewable.renew(first, lost);
    renewable.renew(first, lost); // a concurrent batch failing with the same producer: one renewal
    const second = await renewable.ready();
    expect(second).not.toBe(first);
    expect(producers).toHaveLength(2);
    await second.send({ topic, acks: -1, messages: [{ value: 'two' }] });
    expect(logged).toHaveLength(1);
  });

  it('fails a batch the broker refused for a lost producer state retriably, and sends the next with a new producer', async () => {
    const lost = kafkajsErrors.createErrorFromCode(OUT_OF_ORDER_SEQUENCE_NUMBER);
    const sent: string[] = [];
    let made = 0;
    const producers = new RenewableProducer(() => {
      const label = `producer-${++made}`;
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        sendBatch: async () => {
          if (label === 'producer-1') throw lost;
          sent.push(label);
          return [];
        },
      } as unknown as Producer;
    }, silentLogger);
    const topics = { ensure: async () => undefined, forget: () => undefined } as unknown as TopicManager;
    const options = testTransport().options;
    const [failed] = await publishBatch(producers, topics, options, [
      testWireMessage({ name: eventName('renew') }),
    ]);
    expect(failed?.ok).toBe(false);
    const error = (failed as { error: TransportError }).error;
    expect(error).toBeInstanceOf(TransportError);
    expect(error.retriable).toBe(true);
    const [retried] = await publishBatch(producers, topics, options, [
      testWireMessage({ name: eventName('renew') }),
    ]);
    expect(retried?.ok).toBe(true);
    expect(sent).toEqual(['producer-2']);
  });

  describe('a send whose response is lost after the broker wrote it (kafkajs gives its sequence numbers back)', () => {
    const Broker = createRequire(import.meta.url)('kafkajs/src/broker/index.js') as {
      prototype: { produce: (...args: unknown[]) => Promise<unknown> };
    };
    const { KafkaJSNonRetriableError } = createRequire(import.meta.url)('kafkajs/src/errors.js') as {
      KafkaJSNonRetriableError: new (message: string) => Error;
    };
    const original = Broker.prototype.produce;
    let loseNextResponse = false;
    beforeAll(() => {
      // The broker writes the batch; the client sees a failure, as when a restart cuts the response.
      Broker.prototype.produce = async function (this: unknown, ...args: unknown[]) {
        const response = await original.apply(this, args);
        if (loseNextResponse) {
          loseNextResponse = false;
          throw new KafkaJSNonRetriableError('injected: the produce response was lost');
        }
        return response;
      };
    });
    afterAll(() => {
      Broker.prototype.produce = original;
    });

    const bodies = (records: KafkaMessage[]) => records.map((record) => record.value?.toString()).sort();

    /**
     * Sends two batches of three after arming the lost response for the first, one after the
     * other or at once; the first must fail, the second be confirmed, and every record of both
     * be in the topic (the failed ones were written too: at least once).
     */
    async function twoBatchesAfterLostResponse(sending: 'one after the other' | 'at once') {
      const name = eventName('lost-response');
      const transport = await started(testTransport());
      const [first, second] = ['first', 'second'].map((label) =>
        [1, 2, 3].map((n) => testWireMessage({ name, body: Buffer.from(`${label}-${n}`) })),
      );
      loseNextResponse = true;
      const [failed, confirmed] =
        sending === 'at once'
          ? await Promise.all([transport.publish(first!), transport.publish(second!)])
          : [await transport.publish(first!), await transport.publish(second!)];
      expect(failed!.every((outcome) => !outcome.ok)).toBe(true);
      expect(confirmed!.every((outcome) => outcome.ok)).toBe(true);
      expect(bodies(await readTopic(transport.options.topicFor(name), 6))).toEqual(
        ['first-1', 'first-2', 'first-3', 'second-1', 'second-2', 'second-3'].sort(),
      );
    }

    it('the next batch of the same size is written, not taken for a duplicate of the failed one', () =>
      twoBatchesAfterLostResponse('one after the other'));

    it('a batch sent while another is on the wire is not taken for a duplicate when that one fails', () =>
      twoBatchesAfterLostResponse('at once'));
  });

  it('an idle transport does not spin its request queues (kafkajs issues #1704, #1751)', async () => {
    const transport = await started(testTransport());
    await transport.subscribe(
      { group: `g-${runId}-idle`, eventNames: [eventName('idle')] },
      recorder().handler,
    );
    const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
      prototype: { checkPendingRequests: (...args: unknown[]) => unknown };
    };
    const original = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function (this: unknown, ...args: unknown[]) {
      checks++;
      return original.apply(this, args);
    };
    try {
      await sleep(1_000);
    } finally {
      RequestQueue.prototype.checkPendingRequests = original;
    }
    // Unfixed, every connection re-checks about once per millisecond; fixed, only after responses (~10 fetches/s here).
    expect(checks).toBeLessThan(200);
  });

  it("routes kafkajs' log lines to Herald's logger", async () => {
    const lines: string[] = [];
    const collect = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
    const logger = {
      debug: collect('debug'),
      info: collect('info'),
      warn: collect('warn'),
      error: collect('error'),
    };
    // Nothing listens on port 1: kafkajs logs its failed connection attempts before start() gives up.
    const transport = kafkaTransport({ brokers: ['127.0.0.1:1'], startTimeout: 1_500, logger });
    cleanups.push(() => transport.stop());
    await expect(transport.start()).rejects.toBeInstanceOf(KafkaBrokerUnreachableError);
    expect(lines.some((line) => line.startsWith('warn kafkajs'))).toBe(true);
    expect(lines.some((line) => line.includes('Limiting retries') && !line.startsWith('debug'))).toBe(false);
  });
});

describe('records on the wire', () => {
  it('key = ordering key (or id), value = body, every header a string; the receiver gets exactly the headers back', async () => {
    const transport = await started(testTransport());
    const name = eventName('wire');
    const got = recorder();
    await transport.subscribe({ group: `g-${runId}-wire`, eventNames: [name] }, got.handler);
    const keyed = testWireMessage({
      name,
      orderingKey: 'customer-7',
      headers: { 'x-tenant-note': 'naïve ✓' },
    });
    const unkeyed = testWireMessage({ name });
    const outcomes = await transport.publish([keyed, unkeyed]);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);

    const records = await readTopic(transport.options.topicFor(name), 2);
    const byId = new Map(records.map((r) => [r.headers!['herald-id']!.toString(), r]));
    expect(byId.get(keyed.id)!.key!.toString()).toBe('customer-7');
    expect(byId.get(unkeyed.id)!.key!.toString()).toBe(unkeyed.id);
    expect(Buffer.compare(byId.get(keyed.id)!.value!, Buffer.from(keyed.body))).toBe(0);
    const headers = Object.fromEntries(
      Object.entries(byId.get(keyed.id)!.headers!).map(([k, v]) => [k, String(v)]),
    );
    expect(headers).toEqual(keyed.headers);

    await waitFor(
      () => got.items.length >= 2,
      15_000,
      () => `delivered ${got.items.length} of 2`,
    );
    const received = got.items.find((item) => item.headers['herald-id'] === keyed.id)!;
    expect({ ...received.headers }).toEqual({ ...keyed.headers });
  });

  it('topicFor may map several event names to one topic: every record reaches the group marked channelShared, in key order', async () => {
    const shared = kafkaTopicName(`herald-test-${runId}.aggregate-${++counter}`);
    const placed = eventName('placed');
    const shipped = eventName('shipped');
    const options = { topicFor: () => shared };
    const transport = await started(testTransport(options));
    expect(transport.options.sharedTopics, 'a custom topicFor means shared topics by default').toBe(true);
    const onlyPlaced = recorder();
    const both = recorder();
    await transport.subscribe({ group: `g-${runId}-only-placed`, eventNames: [placed] }, onlyPlaced.handler);
    await transport.subscribe({ group: `g-${runId}-both`, eventNames: [placed, shipped] }, both.handler);
    // One key, two event types on one topic: their relative order is kept too.
    const sent = Array.from({ length: 10 }, (_, index) =>
      testWireMessage({
        name: index % 2 === 0 ? placed : shipped,
        orderingKey: 'order-1',
        payload: { index },
      }),
    );
    expect((await transport.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    for (const got of [both, onlyPlaced]) {
      await waitFor(
        () => got.items.length >= 10,
        15_000,
        () => `delivered ${got.items.length} of 10`,
      );
    }
    await sleep(300);
    // The transport hands every record to core (core decides: skip on a shared topic); none is dropped silently.
    expect(both.ids()).toEqual(sent.map((message) => message.id));
    expect(onlyPlaced.ids()).toEqual(sent.map((message) => message.id));
    expect(onlyPlaced.items.every((item) => item.channelShared === true)).toBe(true);
  });

  it('with the default one-name-per-topic mapping, records reach core with channelShared false', async () => {
    const name = eventName('dedicated');
    const transport = await started(testTransport());
    expect(transport.options.sharedTopics).toBe(false);
    const got = recorder();
    await transport.subscribe({ group: `g-${runId}-dedicated`, eventNames: [name] }, got.handler);
    const message = testWireMessage({ name });
    expect((await transport.publish([message])).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => got.items.length >= 1,
      15_000,
      () => 'not delivered',
    );
    expect(got.items[0]!.channelShared).toBe(false);
  });
});

describe('records of names no handler knows (issue 23)', () => {
  it('on a dedicated topic: dead-lettered by core as UNKNOWN_EVENT and written to the dead-letter topic; the next record is handled', async () => {
    const group = `billing-stray-${runId}`;
    const OrderPlaced = orderEvent();
    const handled: string[] = [];
    const billing = service(group, {
      event: OrderPlaced,
      handle: async (event) => {
        handled.push(event.orderId);
      },
    });
    const dead = record(billing, 'dead-lettered');
    const skipped = record(billing, 'skipped');
    await startedBus(billing);
    const transport = billing.transport as KafkaTransport;
    const topic = transport.options.topicFor(OrderPlaced.eventName);

    // A well-formed Herald record of another name, misrouted onto this group's topic.
    const stray = testWireMessage({ name: eventName('stray'), orderingKey: 'customer-5' });
    const foreign = kafka.producer();
    await foreign.connect();
    cleanups.push(() => foreign.disconnect());
    await foreign.send({
      topic,
      acks: -1,
      messages: [{ key: 'customer-5', value: Buffer.from(stray.body), headers: { ...stray.headers } }],
    });
    const ordering = await startedBus(service(`ordering-stray-${runId}`));
    await ordering.publish(new OrderPlaced({ orderId: 'after-stray', n: 1 }), { orderingKey: 'customer-5' });
    await waitFor(
      () => handled.includes('after-stray') && dead.length >= 1,
      20_000,
      () => `handled ${handled.join(',')}, dead ${dead.length}`,
    );
    expect(dead[0]).toMatchObject({ stage: 'receive' });
    expect(skipped).toEqual([]);
    const letters = await transport.readDeadLetters(group, 10);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.headers['herald-id']).toBe(stray.id);
    expect(letters[0]!.reason).toContain('HERALD_UNKNOWN_EVENT');
  }, 60_000);

  it('on a shared topic (custom topicFor): skipped by core (monitor event), no dead letter; the handled names are handled', async () => {
    const group = `billing-shared-${runId}`;
    const shared = kafkaTopicName(`herald-test-${runId}.aggregate-${++counter}`);
    const OrderPlaced = orderEvent();
    const OrderShipped = defineEvent<Order>(eventName('order-shipped'));
    const handled: string[] = [];
    const billing = service(group, {
      event: OrderPlaced,
      handle: async (event) => {
        handled.push(event.orderId);
      },
      topicFor: () => shared,
    });
    const dead = record(billing, 'dead-lettered');
    const skipped = record(billing, 'skipped');
    await startedBus(billing);
    const ordering = await startedBus(service(`ordering-shared-${runId}`, { topicFor: () => shared }));
    await ordering.publish(new OrderShipped({ orderId: 'shipped-1', n: 1 }), { orderingKey: 'customer-6' });
    await ordering.publish(new OrderPlaced({ orderId: 'placed-1', n: 2 }), { orderingKey: 'customer-6' });
    await waitFor(
      () => handled.includes('placed-1') && skipped.length >= 1,
      20_000,
      () => `handled ${handled.join(',')}, skipped ${skipped.length}`,
    );
    expect(skipped[0]).toMatchObject({ group, eventName: OrderShipped.eventName });
    expect(dead).toEqual([]);
    expect(await billing.transport.readDeadLetters!(group, 10)).toEqual([]);
  }, 60_000);
});

describe('ordering', () => {
  it('keeps per-key order across 4 partitions with 8 keys published concurrently, partitions handled in parallel', async () => {
    const name = eventName('ordering');
    const publisher = await started(testTransport({ topics: { numPartitions: 4 } }));
    const consumer = await started(
      testTransport({ topics: { numPartitions: 4 }, consumer: { partitionsConsumedConcurrently: 4 } }),
    );
    const keys = Array.from({ length: 8 }, (_, index) => `key-${index}`);
    const perKey = 40;
    const active = new Map<string, number>();
    let overlaps = 0;
    let parallelPartitions = 0;
    let running = 0;
    const got = recorder(async (message) => {
      const key = message.headers['herald-ordering-key']!;
      if ((active.get(key) ?? 0) > 0) overlaps++;
      active.set(key, (active.get(key) ?? 0) + 1);
      running++;
      parallelPartitions = Math.max(parallelPartitions, running);
      await sleep(Math.floor(Math.random() * 3));
      running--;
      active.set(key, active.get(key)! - 1);
    });
    await consumer.subscribe({ group: `g-${runId}-ordering`, eventNames: [name] }, got.handler);

    // Each key has its own publisher loop (its sequence is defined); the loops run concurrently.
    await Promise.all(
      keys.map(async (key) => {
        for (let sequence = 0; sequence < perKey; sequence += 4) {
          const chunk = Array.from({ length: 4 }, (_, offset) =>
            testWireMessage({ name, orderingKey: key, payload: { key, sequence: sequence + offset } }),
          );
          const outcomes = await publisher.publish(chunk);
          expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
        }
      }),
    );
    await waitFor(
      () => got.items.length >= keys.length * perKey,
      30_000,
      () => `delivered ${got.items.length}`,
    );
    await sleep(300);

    expect(got.items).toHaveLength(keys.length * perKey);
    for (const key of keys) {
      const sequences = got.items
        .filter((item) => item.headers['herald-ordering-key'] === key)
        .map((item) => payloadOfTestMessage<{ sequence: number }>(item.body).sequence);
      expect(sequences, `order of ${key}`).toEqual(Array.from({ length: perKey }, (_, index) => index));
    }
    expect(overlaps, 'two deliveries of one key overlapped').toBe(0);
    const offsets = await admin.fetchTopicOffsets(publisher.options.topicFor(name));
    const used = offsets.filter((partition) => Number(partition.high) > 0);
    expect(used.length, 'keys spread over partitions').toBeGreaterThanOrEqual(3);
    expect(parallelPartitions, 'partitions were handled in parallel').toBeGreaterThan(1);
  }, 60_000);
});

type Order = { orderId: string; n: number };

/** An order event no other test (or run) uses, so a new group reading from the beginning sees only this test's records. */
function orderEvent() {
  return defineEvent<Order>(eventName('order-placed'));
}

/**
 * A service on Kafka with an in-memory event log. Replicas of one service pass
 * the same `log`: one inbox, as with a shared database.
 */
function service(
  name: string,
  options: {
    log?: EventLog;
    event?: DefinedEvent<Order>;
    handle?: (event: Order) => Promise<void>;
    topicFor?: (eventName: string) => string;
  } = {},
) {
  let builder = createIntegrationEventBus({ service: name, logger: testLogger })
    .useTransport(testTransport(options.topicFor ? { topicFor: options.topicFor } : {}))
    .useEventLog(options.log ?? memoryEventLog())
    .configure(fastBus);
  if (options.event && options.handle) builder = builder.handle(options.event, options.handle);
  return builder.build();
}

describe('through a real bus', () => {
  it('a poison message (handler always throws) goes dead in the inbox and the next message is handled', async () => {
    const group = `billing-poison-${runId}`;
    const OrderPlaced = orderEvent();
    const calls: string[] = [];
    const billing = service(group, {
      event: OrderPlaced,
      handle: async (event) => {
        calls.push(event.orderId);
        if (event.orderId === 'poison') throw new Error('cannot bill this order');
      },
    });
    const dead = record(billing, 'dead-lettered');
    await startedBus(billing);
    const ordering = await startedBus(service(`ordering-poison-${runId}`));

    await ordering.publish(new OrderPlaced({ orderId: 'poison', n: 1 }), { orderingKey: 'customer-1' });
    await ordering.publish(new OrderPlaced({ orderId: 'fine', n: 2 }), { orderingKey: 'customer-2' });
    await waitFor(
      () => calls.includes('fine') && dead.length >= 1,
      20_000,
      () => `calls ${calls.join(',')}, dead ${dead.length}`,
    );

    expect(dead[0]).toMatchObject({ stage: 'handle', eventName: OrderPlaced.eventName });
    expect(dead[0]!.reason).toContain('cannot bill this order');
    const inbox = billing.eventLogs.find((log) => log.inbox)!.inbox!;
    const deadRecords = await inbox.list({ status: 'dead' });
    expect(deadRecords.map((r) => r.lastError)).toEqual([expect.stringContaining('cannot bill this order')]);
    await sleep(500);
    expect(calls.filter((id) => id === 'poison')).toHaveLength(1);
    // Handler failures live in the inbox; the broker's dead-letter topic stays empty.
    expect(await billing.transport.readDeadLetters!(group, 10)).toEqual([]);
  }, 60_000);

  it('malformed records from a foreign producer land in the dead-letter topic with the reason header; the next message is handled', async () => {
    const group = `billing-malformed-${runId}`;
    const OrderPlaced = orderEvent();
    const handled: string[] = [];
    const billing = service(group, {
      event: OrderPlaced,
      handle: async (event) => {
        handled.push(event.orderId);
      },
    });
    const dead = record(billing, 'dead-lettered');
    await startedBus(billing);
    const transport = billing.transport as KafkaTransport;
    const topic = transport.options.topicFor(OrderPlaced.eventName);

    const foreign = kafka.producer();
    await foreign.connect();
    cleanups.push(() => foreign.disconnect());
    const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
    await foreign.send({
      topic,
      acks: -1,
      messages: [
        { key: 'customer-9', value: garbage },
        {
          key: 'customer-9',
          value: Buffer.from('{"orderId": '),
          headers: {
            'herald-id': '0190b8f5-7c3e-7000-8000-000000000001',
            'herald-name': OrderPlaced.eventName,
            'herald-version': '1',
            'herald-occurred-at': new Date().toISOString(),
            'herald-source': 'a-foreign-producer',
            'x-foreign': 'yes',
          },
        },
      ],
    });
    const ordering = await startedBus(service(`ordering-malformed-${runId}`));
    await ordering.publish(new OrderPlaced({ orderId: 'after-garbage', n: 1 }), {
      orderingKey: 'customer-9',
    });
    await waitFor(
      () => handled.includes('after-garbage'),
      20_000,
      () => `handled ${handled.join(',')}`,
    );
    expect(dead.map((event) => event.stage)).toEqual(['receive', 'receive']);

    // The dead-letter topic as any Kafka tool sees it: original key, value and headers plus the reason.
    const letters = await readTopic(transport.options.deadLetterTopicFor(group), 2);
    const [first, second] = letters;
    expect(first!.key!.toString()).toBe('customer-9');
    expect(Buffer.compare(first!.value!, garbage)).toBe(0);
    expect(first!.headers![DeadLetterHeaders.reason]!.toString()).toContain('HERALD_MALFORMED_MESSAGE');
    expect(first!.headers![DeadLetterHeaders.group]!.toString()).toBe(group);
    expect(first!.headers![DeadLetterHeaders.topic]!.toString()).toBe(topic);
    expect(second!.headers!['x-foreign']!.toString()).toBe('yes');
    expect(second!.headers![DeadLetterHeaders.reason]!.toString()).toContain('HERALD_MALFORMED_MESSAGE');

    // And through the port, without the transport's own headers.
    const read = await transport.readDeadLetters(group, 10);
    expect(read).toHaveLength(2);
    expect(read[1]!.headers).toMatchObject({ 'x-foreign': 'yes', 'herald-source': 'a-foreign-producer' });
    expect(Object.keys(read[1]!.headers).some((key) => key.startsWith('herald-dlq-'))).toBe(false);
    expect(read.every((letter) => letter.reason.includes('HERALD_MALFORMED_MESSAGE'))).toBe(true);
  }, 60_000);

  it('consumer restart mid-stream: no message is lost, and a shared inbox hands each to the handler once', async () => {
    const group = `billing-restart-${runId}`;
    const OrderPlaced = orderEvent();
    const log = memoryEventLog(); // survives the restart, like the service's database
    const calls = new Map<string, number>();
    const handle = async (event: Order) => {
      calls.set(event.orderId, (calls.get(event.orderId) ?? 0) + 1);
      await sleep(2);
    };
    let billing = service(group, { log, event: OrderPlaced, handle });
    const absorbedBefore = record(billing, 'duplicate');
    await startedBus(billing);
    const ordering = await startedBus(service(`ordering-restart-${runId}`));

    const total = 300;
    const publishing = (async () => {
      for (let n = 0; n < total; n += 10) {
        await ordering.publish(
          Array.from({ length: 10 }, (_, i) => new OrderPlaced({ orderId: `o-${n + i}`, n: n + i })),
          { orderingKey: `customer-${n % 7}` },
        );
        await sleep(20);
      }
    })();
    await waitFor(
      () => calls.size >= 60,
      20_000,
      () => `handled ${calls.size} before the restart`,
    );
    await billing.stop(); // mid-stream: the in-hand message finishes, handled offsets are committed
    const handledBeforeRestart = calls.size;
    billing = service(group, { log, event: OrderPlaced, handle });
    const absorbedAfter = record(billing, 'duplicate');
    await startedBus(billing);
    await publishing;
    await waitFor(
      () => calls.size >= total,
      30_000,
      () => `handled ${calls.size} of ${total}`,
    );
    await sleep(500);

    expect(handledBeforeRestart).toBeLessThan(total);
    const missing = Array.from({ length: total }, (_, n) => `o-${n}`).filter((id) => !calls.has(id));
    expect(missing, 'lost messages').toEqual([]);
    expect(
      [...calls.values()].filter((count) => count > 1),
      'handled twice',
    ).toEqual([]);
    // The stopping consumer committed what it handled, so nothing came twice for the inbox to absorb.
    expect([...absorbedBefore, ...absorbedAfter]).toEqual([]);
  }, 90_000);

  it('rebalance: a second replica joins mid-stream and leaves again; nothing is lost or handled twice', async () => {
    const group = `billing-rebalance-${runId}`;
    const OrderPlaced = orderEvent();
    const log = memoryEventLog(); // both replicas' inbox: the service's shared database
    const calls = new Map<string, string[]>();
    const handleAs = (replica: string) => async (event: Order) => {
      calls.set(event.orderId, [...(calls.get(event.orderId) ?? []), replica]);
      await sleep(2);
    };
    const first = await startedBus(service(group, { log, event: OrderPlaced, handle: handleAs('first') }));
    const ordering = await startedBus(service(`ordering-rebalance-${runId}`));

    const total = 400;
    const publishing = (async () => {
      for (let n = 0; n < total; n += 10) {
        await ordering.publish(
          Array.from({ length: 10 }, (_, i) => new OrderPlaced({ orderId: `o-${n + i}`, n: n + i })),
          { orderingKey: `customer-${n % 11}` },
        );
        await sleep(20);
      }
    })();
    await waitFor(
      () => calls.size >= 50,
      20_000,
      () => `handled ${calls.size} before the join`,
    );
    const second = service(group, { log, event: OrderPlaced, handle: handleAs('second') });
    const absorbedByFirst = record(first, 'duplicate');
    const absorbedBySecond = record(second, 'duplicate');
    await startedBus(second);
    await waitFor(
      () => [...calls.values()].some((replicas) => replicas.includes('second')),
      20_000,
      () => 'the second replica never got a partition',
    );
    await second.stop();
    await publishing;
    await waitFor(
      () => calls.size >= total,
      30_000,
      () => `handled ${calls.size} of ${total}`,
    );
    await sleep(500);

    const missing = Array.from({ length: total }, (_, n) => `o-${n}`).filter((id) => !calls.has(id));
    expect(missing, 'lost messages').toEqual([]);
    expect(
      [...calls.entries()].filter(([, replicas]) => replicas.length > 1),
      'handled twice',
    ).toEqual([]);
    // Graceful joins and leaves commit before partitions move, so the inbox had nothing to absorb either.
    expect([...absorbedByFirst, ...absorbedBySecond]).toEqual([]);
    expect(first.state).toBe('running');
  }, 90_000);
});

describe('consumer group membership at the transport level', () => {
  it('a member joins mid-stream and leaves: every record delivered, none delivered twice, deliveries stay first attempts', async () => {
    const name = eventName('membership');
    const group = `g-${runId}-membership`;
    const publisher = await started(testTransport());
    const a = await started(testTransport());
    const b = await started(testTransport());
    const deliveries: Array<{ id: string; member: string; attempt: number }> = [];
    const member =
      (label: string): DeliveryHandler =>
      async (message) => {
        deliveries.push({
          id: message.headers['herald-id']!,
          member: label,
          attempt: message.deliveryAttempt,
        });
        await sleep(1);
        return { kind: 'ack' };
      };
    await a.subscribe({ group, eventNames: [name] }, member('a'));
    const sent: string[] = [];
    const publishing = (async () => {
      for (let n = 0; n < 30; n++) {
        const batch = Array.from({ length: 10 }, (_, i) =>
          testWireMessage({ name, orderingKey: `k-${(n * 10 + i) % 13}` }),
        );
        const outcomes = await publisher.publish(batch);
        expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
        sent.push(...batch.map((message) => message.id));
        await sleep(15);
      }
    })();
    await waitFor(
      () => deliveries.length >= 40,
      20_000,
      () => `delivered ${deliveries.length} before the join`,
    );
    const handleB = await b.subscribe({ group, eventNames: [name] }, member('b'));
    await waitFor(
      () => deliveries.some((d) => d.member === 'b'),
      20_000,
      () => 'b never got a partition',
    );
    await handleB.close();
    await publishing;
    await waitFor(
      () => new Set(deliveries.map((d) => d.id)).size >= sent.length,
      30_000,
      () => 'not every record arrived',
    );
    await sleep(500);

    const seen = new Set(deliveries.map((d) => d.id));
    expect(
      sent.filter((id) => !seen.has(id)),
      'lost records',
    ).toEqual([]);
    const counts = new Map<string, number>();
    for (const d of deliveries) counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
    expect(
      [...counts].filter(([, count]) => count > 1),
      'delivered twice',
    ).toEqual([]);
    expect(deliveries.every((d) => d.attempt === 1)).toBe(true);
  }, 90_000);
});

describe('back-pressure and redelivery', () => {
  it("a 'retry' pauses only its partition: the record comes back after the delay, other partitions keep flowing", async () => {
    const name = eventName('pause');
    const transport = await started(testTransport({ topics: { numPartitions: 3 } }));
    const deliveries: Array<{ id: string; key: string; attempt: number; at: number }> = [];
    let refusals = 0;
    await transport.subscribe({ group: `g-${runId}-pause`, eventNames: [name] }, async (message) => {
      const key = message.headers['herald-ordering-key']!;
      deliveries.push({
        id: message.headers['herald-id']!,
        key,
        attempt: message.deliveryAttempt,
        at: Date.now(),
      });
      if (key === 'slow' && refusals < 3) {
        refusals++;
        return { kind: 'retry', delayMs: 400, reason: 'inbox busy' };
      }
      return { kind: 'ack' };
    });
    const slow = [
      testWireMessage({ name, orderingKey: 'slow' }),
      testWireMessage({ name, orderingKey: 'slow' }),
    ];
    // Keys that land on other partitions than "slow" (murmur2 like the Java client).
    const others = Array.from({ length: 30 }, (_, i) => testWireMessage({ name, orderingKey: `other-${i}` }));
    expect((await transport.publish([...slow, ...others])).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => new Set(deliveries.map((d) => d.id)).size >= 32,
      20_000,
      () => `${deliveries.length} deliveries`,
    );

    const slowDeliveries = deliveries.filter((d) => d.key === 'slow');
    expect(slowDeliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 1]);
    expect(slowDeliveries.slice(0, 4).every((d) => d.id === slow[0]!.id)).toBe(true);
    expect(slowDeliveries[4]!.id).toBe(slow[1]!.id);
    for (let i = 1; i < 4; i++)
      expect(slowDeliveries[i]!.at - slowDeliveries[i - 1]!.at).toBeGreaterThanOrEqual(300);
    // Records on other partitions did not wait for the 1.2 s of retries.
    const lastSlow = slowDeliveries[3]!.at;
    const otherPartitionsDone = deliveries.filter((d) => d.key !== 'slow' && d.at < lastSlow).length;
    expect(otherPartitionsDone).toBeGreaterThan(0);
  }, 60_000);

  it('a handler slower than the session timeout keeps its membership: the record is not redelivered', async () => {
    const name = eventName('slow-handler');
    const transport = await started(testTransport());
    const seen: string[] = [];
    await transport.subscribe({ group: `g-${runId}-slow-handler`, eventNames: [name] }, async (message) => {
      seen.push(message.headers['herald-id']!);
      if (seen.length === 1) await sleep(7_500); // sessionTimeout is 6 s in these tests
      return { kind: 'ack' };
    });
    const [slow, next] = [testWireMessage({ name }), testWireMessage({ name })];
    expect((await transport.publish([slow])).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => seen.length === 1,
      15_000,
      () => 'first delivery',
    );
    expect((await transport.publish([next])).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => seen.includes(next.id),
      20_000,
      () => `deliveries: ${seen.join(', ')}`,
    );
    await sleep(1_000);
    expect(seen.filter((id) => id === slow.id)).toHaveLength(1);
  }, 60_000);

  it('stop() waits for the record in hand and commits it: a new member starts after it', async () => {
    const name = eventName('commit');
    const group = `g-${runId}-commit`;
    const first = await started(testTransport());
    let release: () => void = () => undefined;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const firstSeen: string[] = [];
    await first.subscribe({ group, eventNames: [name] }, async (message) => {
      firstSeen.push(message.headers['herald-id']!);
      if (firstSeen.length === 1) await blocker;
      return { kind: 'ack' };
    });
    const sent = Array.from({ length: 5 }, () => testWireMessage({ name, orderingKey: 'one-partition' }));
    expect((await first.publish(sent)).every((outcome) => outcome.ok)).toBe(true);
    await waitFor(
      () => firstSeen.length === 1,
      15_000,
      () => 'first delivery',
    );
    const stopping = first.stop();
    await sleep(200);
    release();
    await stopping;
    expect(firstSeen).toEqual([sent[0]!.id]);

    const second = await started(testTransport());
    const secondSeen: string[] = [];
    await second.subscribe({ group, eventNames: [name] }, async (message) => {
      secondSeen.push(message.headers['herald-id']!);
      return { kind: 'ack' };
    });
    await waitFor(
      () => secondSeen.length >= 4,
      15_000,
      () => `second member got ${secondSeen.length}`,
    );
    await sleep(300);
    expect(secondSeen).toEqual(sent.slice(1).map((message) => message.id));
  }, 60_000);
});
