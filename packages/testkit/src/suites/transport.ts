import {
  type DeadLetter,
  type PublishOutcome,
  type Transport,
  type TransportCapabilities,
  uuidv7,
  type WireMessage,
} from '@herald/core';
import { expect } from 'vitest';
import { uniqueSuffix } from '../internal/random.js';
import { sleep, waitFor } from '../internal/wait.js';
import { bytes, idsOf } from './assertions.js';
import { type ConformanceCase, describeCases, skipCase } from './case.js';
import { ACK, Deliveries } from './deliveries.js';
import { payloadOfTestMessage, testWireMessage, uniqueEventName } from './messages.js';

/** What each transport case receives. */
export interface TransportTestContext {
  /** A started transport (created by the suite's factory); stopped after the case. */
  readonly transport: Transport;
  /** Another started transport of the same broker (another replica); stopped after the case. */
  create(): Promise<Transport>;
  /** The transport's declared capabilities, with the suite's overrides applied. */
  readonly capabilities: TransportCapabilities;
  /** A consumer group name no other case uses. */
  group(): string;
  /** An event name no other case uses. */
  eventName(): string;
  /** Upper bound for every wait. */
  readonly timeoutMs: number;
  /** How long to watch for unwanted (re)deliveries. */
  readonly quietMs: number;
  /** Whether redeliveries carry a higher `deliveryAttempt`. */
  readonly countsDeliveryAttempts: boolean;
  /** Whether a `retry` of a keyed message holds back later messages of its key (checked when orderedByKey). */
  readonly retryKeepsKeyOrder: boolean;
  /** Restarts the broker (and must leave it reachable again when it resolves). */
  readonly restart: (() => Promise<void>) | undefined;
  /** Another started transport whose channels carry several event names by design; stopped after the case. */
  readonly createShared: (() => Promise<Transport>) | undefined;
}

/** Options of {@link describeTransportConformance} and {@link runTransportCase}. */
export interface TransportConformanceOptions {
  /** Shown in the vitest `describe` title. */
  readonly name: string;
  /** Creates an (unstarted) transport connected to the broker under test; called once or more per case. */
  readonly create: () => Promise<Transport>;
  /** Overrides of the transport's declared capabilities (e.g. to test a weaker promise). */
  readonly capabilities?: Partial<TransportCapabilities>;
  /** Restarts the broker; enables the restart case (Watermill's RestartServiceCommand). */
  readonly restart?: () => Promise<void>;
  /**
   * Creates an (unstarted) transport whose channels carry several event names
   * by design (for example Kafka with a `topicFor` that maps every name onto
   * one topic), so a group also receives names it did not subscribe to.
   * Enables the shared-channel case; without it that case is reported as skipped.
   */
  readonly createShared?: () => Promise<Transport>;
  /** Makes a unique consumer group name; default `testkit-<random>`. */
  readonly uniqueGroup?: () => string;
  /** Upper bound for every wait in a case; default 10 s. */
  readonly timeoutMs?: number;
  /** How long to watch for unwanted (re)deliveries; default 300 ms. */
  readonly quietMs?: number;
  /** Whether redeliveries carry a higher `deliveryAttempt`; default true. */
  readonly countsDeliveryAttempts?: boolean;
  /**
   * Whether a `retry` disposition of a keyed message holds back the later
   * messages of its key until the redelivery (what `orderedByKey` promises);
   * default true. Set false only for a transport that documents this gap.
   */
  readonly retryKeepsKeyOrder?: boolean;
}

type TransportCase = ConformanceCase<TransportTestContext>;

function expectAllOk(outcomes: readonly PublishOutcome[], sent: readonly WireMessage[]): void {
  expect(outcomes.map((outcome) => outcome.id)).toEqual(idsOf(sent));
  const failed = outcomes.filter((outcome) => !outcome.ok);
  expect(failed, 'every message is confirmed').toEqual([]);
}

/** Skips the rest of a case when the transport keeps no readable dead-letter store. */
function skipUnlessDeadLetterStore(ctx: TransportTestContext, checked: string): void {
  if (!ctx.capabilities.deadLetter) skipCase(`${checked}; not the dead-letter store (deadLetter is false)`);
  if (!ctx.transport.readDeadLetters) {
    skipCase(`${checked}; not the dead-letter store (the transport has no readDeadLetters)`);
  }
}

async function readDeadLetters(
  ctx: TransportTestContext,
  transport: Transport,
  group: string,
  count: number,
) {
  let letters: DeadLetter[] = [];
  await waitFor(
    async () => {
      letters = (await transport.readDeadLetters!(group, 100)) ?? [];
      return letters.length >= count;
    },
    {
      timeoutMs: ctx.timeoutMs,
      intervalMs: 20,
      describe: () => `expected ${count} dead letters, got ${letters.length}`,
    },
  );
  return letters;
}

const roundTrip: TransportCase = {
  name: 'publish → subscribe delivers exactly the headers and body bytes, first attempt = 1',
  async run(ctx) {
    const name = ctx.eventName();
    const got = new Deliveries();
    await ctx.transport.subscribe({ group: ctx.group(), eventNames: [name] }, got.handler());
    const keyed = testWireMessage({
      name,
      orderingKey: `order-${uniqueSuffix()}`,
      headers: { 'x-note': 'ünïcödé ✓', 'x-empty': '' },
      payload: { text: 'naïve café 🚀', list: [1, 2, 3] },
    });
    const binary = testWireMessage({ name, body: Uint8Array.from([0, 255, 128, 10, 13, 0]) });
    expectAllOk(await ctx.transport.publish([keyed, binary]), [keyed, binary]);
    await got.waitForIds([keyed.id, binary.id], ctx.timeoutMs);
    for (const sent of [keyed, binary]) {
      const [delivery] = got.of(sent.id);
      expect({ ...delivery!.message.headers }).toEqual({ ...sent.headers });
      expect(bytes(delivery!.message.body)).toEqual(bytes(sent.body));
      expect(delivery!.message.deliveryAttempt).toBe(1);
    }
  },
};

const batch: TransportCase = {
  name: 'a batch of 500 is confirmed per message in order and delivered once each',
  async run(ctx) {
    const name = ctx.eventName();
    const got = new Deliveries();
    await ctx.transport.subscribe({ group: ctx.group(), eventNames: [name] }, got.handler());
    const sent = Array.from({ length: 500 }, (_, index) =>
      testWireMessage({
        name,
        payload: { index },
        ...(index % 2 === 0 ? { orderingKey: `k${index % 10}` } : {}),
      }),
    );
    expectAllOk(await ctx.transport.publish(sent), sent);
    await got.waitForIds(idsOf(sent), ctx.timeoutMs);
    await sleep(ctx.quietMs);
    expect(got.duplicates()).toEqual([]);
    expect(got.items).toHaveLength(500);
  },
};

const ackRemoves: TransportCase = {
  name: 'an acknowledged message is not delivered again',
  async run(ctx) {
    const name = ctx.eventName();
    const got = new Deliveries();
    await ctx.transport.subscribe({ group: ctx.group(), eventNames: [name] }, got.handler());
    const message = testWireMessage({ name });
    expectAllOk(await ctx.transport.publish([message]), [message]);
    await got.waitForIds([message.id], ctx.timeoutMs);
    await sleep(Math.max(ctx.quietMs, 300));
    expect(got.of(message.id)).toHaveLength(1);
  },
};

const retry: TransportCase = {
  name: "a 'retry' disposition redelivers the message later (with a higher attempt, after the delay when supported)",
  async run(ctx) {
    const name = ctx.eventName();
    const delayMs = 200;
    const got = new Deliveries();
    await ctx.transport.subscribe(
      { group: ctx.group(), eventNames: [name] },
      got.handler('member', (_message, index) =>
        index === 0 ? { kind: 'retry', delayMs, reason: 'testkit: try again' } : ACK,
      ),
    );
    const message = testWireMessage({ name, orderingKey: `k-${uniqueSuffix()}` });
    expectAllOk(await ctx.transport.publish([message]), [message]);
    await waitFor(() => got.of(message.id).length >= 2, {
      timeoutMs: ctx.timeoutMs,
      describe: () => `the message was delivered ${got.of(message.id).length} time(s); expected a redelivery`,
    });
    const [first, second] = got.of(message.id);
    expect({ ...second!.message.headers }).toEqual({ ...message.headers });
    expect(bytes(second!.message.body)).toEqual(bytes(message.body));
    if (ctx.countsDeliveryAttempts)
      expect(second!.message.deliveryAttempt).toBeGreaterThan(first!.message.deliveryAttempt);
    if (ctx.capabilities.delayedRedelivery) {
      expect(second!.receivedAt - first!.disposedAt).toBeGreaterThanOrEqual(delayMs * 0.75);
    }
    await sleep(ctx.quietMs);
    expect(got.of(message.id), 'acknowledged after the redelivery').toHaveLength(2);
    const unchecked = [
      ...(ctx.countsDeliveryAttempts ? [] : ['a higher deliveryAttempt (countsDeliveryAttempts is false)']),
      ...(ctx.capabilities.delayedRedelivery ? [] : ['the redelivery delay (delayedRedelivery is false)']),
    ];
    if (unchecked.length > 0) skipCase(`redelivery checked; not ${unchecked.join(', nor ')}`);
  },
};

const deadLetter: TransportCase = {
  name: "a 'dead-letter' disposition is never redelivered and lands in the dead-letter store with its reason",
  async run(ctx) {
    const name = ctx.eventName();
    const group = ctx.group();
    const reason = `testkit: poison ${uniqueSuffix()}`;
    const got = new Deliveries();
    await ctx.transport.subscribe(
      { group, eventNames: [name] },
      got.handler('member', () => ({ kind: 'dead-letter', reason })),
    );
    const message = testWireMessage({ name, headers: { 'x-why': 'poison' } });
    expectAllOk(await ctx.transport.publish([message]), [message]);
    await got.waitForIds([message.id], ctx.timeoutMs);
    await sleep(Math.max(ctx.quietMs, 300));
    expect(got.of(message.id)).toHaveLength(1);
    skipUnlessDeadLetterStore(ctx, 'not redelivered checked');
    const letters = await readDeadLetters(ctx, ctx.transport, group, 1);
    const letter = letters.find((l) => l.headers['herald-id'] === message.id);
    expect(letter, 'the dead letter of this message').toBeDefined();
    expect(letter!.reason).toContain(reason);
    expect({ ...letter!.headers }).toEqual({ ...message.headers });
    expect(bytes(letter!.body)).toEqual(bytes(message.body));
  },
};

const ordering: TransportCase = {
  name: 'messages with the same ordering key reach the group in publish order, one at a time (when orderedByKey)',
  async run(ctx) {
    const name = ctx.eventName();
    const keys = ['a', 'b', 'c', 'd'].map((k) => `${k}-${uniqueSuffix()}`);
    const sent = Array.from({ length: 100 }, (_, index) =>
      testWireMessage({ name, orderingKey: keys[index % keys.length]!, payload: { index } }),
    );
    const active = new Map<string, number>();
    let overlap = 0;
    const got = new Deliveries();
    await ctx.transport.subscribe(
      { group: ctx.group(), eventNames: [name] },
      got.handler('member', async (message) => {
        const key = message.headers['herald-ordering-key']!;
        const running = (active.get(key) ?? 0) + 1;
        active.set(key, running);
        if (running > 1) overlap++;
        await sleep(Math.floor(Math.random() * 3));
        active.set(key, (active.get(key) ?? 1) - 1);
        return ACK;
      }),
    );
    expectAllOk(await ctx.transport.publish(sent.slice(0, 50)), sent.slice(0, 50));
    expectAllOk(await ctx.transport.publish(sent.slice(50)), sent.slice(50));
    await got.waitForIds(idsOf(sent), ctx.timeoutMs);
    if (!ctx.capabilities.orderedByKey) skipCase('delivery checked; not the order (orderedByKey is false)');
    for (const key of keys) {
      const received = got.items
        .filter((item) => item.message.headers['herald-ordering-key'] === key)
        .map((item) => payloadOfTestMessage<{ index: number }>(item.message.body).index);
      const expected = sent
        .filter((message) => message.orderingKey === key)
        .map((message) => payloadOfTestMessage<{ index: number }>(message.body).index);
      expect(received, `order of key ${key}`).toEqual(expected);
    }
    expect(overlap, 'deliveries of one key overlapped').toBe(0);
  },
};

const retryKeepsOrder: TransportCase = {
  name: "a 'retry' of a keyed message holds back the later messages of its key (when orderedByKey)",
  async run(ctx) {
    const name = ctx.eventName();
    const key = `k-${uniqueSuffix()}`;
    const sent = [0, 1, 2].map((index) => testWireMessage({ name, orderingKey: key, payload: { index } }));
    const got = new Deliveries();
    await ctx.transport.subscribe(
      { group: ctx.group(), eventNames: [name] },
      got.handler('member', (message, index) =>
        message.headers['herald-id'] === sent[0]!.id && index === 0
          ? { kind: 'retry', delayMs: 50, reason: 'testkit: transient' }
          : ACK,
      ),
    );
    expectAllOk(await ctx.transport.publish(sent), sent);
    await waitFor(() => got.of(sent[0]!.id).length >= 2 && got.distinctIds().size === 3, {
      timeoutMs: ctx.timeoutMs,
      describe: () => `deliveries so far: ${got.items.length}`,
    });
    await sleep(ctx.quietMs);
    const order = got.items.map((item) => sent.findIndex((message) => message.id === item.id));
    expect(
      order.filter((index) => index === 0),
      'the first message was redelivered once',
    ).toHaveLength(2);
    if (!ctx.capabilities.orderedByKey) skipCase('redelivery checked; not the order (orderedByKey is false)');
    if (!ctx.retryKeepsKeyOrder) {
      skipCase('redelivery checked; not the order (the suite was told retryKeepsKeyOrder: false)');
    }
    expect(order, 'later messages of the key overtook the retried one').toEqual([0, 0, 1, 2]);
  },
};

const consumerGroups: TransportCase = {
  name: 'members of one group share the messages (each once); another group gets all of them',
  async run(ctx) {
    const name = ctx.eventName();
    const shared = ctx.group();
    const separate = ctx.group();
    const memberB = await ctx.create();
    const memberC = await ctx.create();
    const sharedGot = new Deliveries();
    const separateGot = new Deliveries();
    await ctx.transport.subscribe({ group: shared, eventNames: [name] }, sharedGot.handler('a'));
    await memberB.subscribe({ group: shared, eventNames: [name] }, sharedGot.handler('b'));
    await memberC.subscribe({ group: separate, eventNames: [name] }, separateGot.handler('c'));
    const sent = Array.from({ length: 50 }, (_, index) =>
      testWireMessage({ name, payload: { index }, ...(index % 2 === 0 ? { orderingKey: `k${index}` } : {}) }),
    );
    expectAllOk(await ctx.transport.publish(sent), sent);
    await sharedGot.waitForIds(idsOf(sent), ctx.timeoutMs);
    await separateGot.waitForIds(idsOf(sent), ctx.timeoutMs);
    await sleep(ctx.quietMs);
    expect(separateGot.duplicates()).toEqual([]);
    expect(separateGot.items).toHaveLength(50);
    if (!ctx.capabilities.consumerGroups) {
      skipCase('delivery to both groups checked; not the sharing within one (consumerGroups is false)');
    }
    expect(sharedGot.duplicates(), 'a message reached both members of one group').toEqual([]);
    expect(sharedGot.items).toHaveLength(50);
  },
};

const malformed: TransportCase = {
  name: 'a malformed message (garbage body, no herald-* headers) is handed to the handler, which can dead-letter it',
  async run(ctx) {
    const name = ctx.eventName();
    const group = ctx.group();
    const garbageId = uuidv7();
    const garbage: WireMessage = {
      id: garbageId,
      name,
      headers: { 'x-testkit-id': garbageId },
      body: Uint8Array.from([0xff, 0xfe, 0x00, 0x7b, 0x22]),
    };
    const good = testWireMessage({ name });
    const got = new Deliveries();
    await ctx.transport.subscribe(
      { group, eventNames: [name] },
      got.handler('member', (message) =>
        message.headers['herald-id'] === undefined
          ? { kind: 'dead-letter', reason: 'testkit: malformed' }
          : ACK,
      ),
    );
    expectAllOk(await ctx.transport.publish([garbage]), [garbage]);
    expectAllOk(await ctx.transport.publish([good]), [good]);
    await got.waitForIds([garbageId, good.id], ctx.timeoutMs);
    const [delivery] = got.of(garbageId);
    expect({ ...delivery!.message.headers }).toEqual({ 'x-testkit-id': garbageId });
    expect(bytes(delivery!.message.body)).toEqual(bytes(garbage.body));
    await sleep(ctx.quietMs);
    expect(got.of(garbageId)).toHaveLength(1);
    skipUnlessDeadLetterStore(ctx, 'delivery of the malformed message checked');
    const letters = await readDeadLetters(ctx, ctx.transport, group, 1);
    expect(letters.some((letter) => letter.reason.includes('testkit: malformed'))).toBe(true);
  },
};

const dedicatedChannel: TransportCase = {
  name: 'a message of a name the group did not subscribe to, misrouted onto its channel, reaches the handler with channelShared false and can be dead-lettered',
  async run(ctx) {
    const name = ctx.eventName();
    const stray = ctx.eventName();
    const group = ctx.group();
    const got = new Deliveries();
    // Core dead-letters such a message as an unknown event; the test handler does the same.
    await ctx.transport.subscribe(
      { group, eventNames: [name] },
      got.handler('member', (message) =>
        message.headers['herald-name'] === name
          ? ACK
          : { kind: 'dead-letter', reason: 'testkit: unknown event' },
      ),
    );
    // Routed as `name` (WireMessage.name) but named `stray` in its headers: a misrouted or foreign message.
    const misrouted: WireMessage = { ...testWireMessage({ name: stray }), name };
    const good = testWireMessage({ name });
    expectAllOk(await ctx.transport.publish([misrouted, good]), [misrouted, good]);
    await got.waitForIds([misrouted.id, good.id], ctx.timeoutMs);
    const [delivery] = got.of(misrouted.id);
    expect(delivery!.message.headers['herald-name'], 'the name the message carries').toBe(stray);
    for (const item of got.items) {
      expect(item.message.channelShared ?? false, 'channelShared on a dedicated channel').toBe(false);
    }
    await sleep(ctx.quietMs);
    expect(got.of(misrouted.id), 'not redelivered after the dead-letter disposition').toHaveLength(1);
    skipUnlessDeadLetterStore(ctx, 'delivery with channelShared false checked');
    const letters = await readDeadLetters(ctx, ctx.transport, group, 1);
    const letter = letters.find((l) => l.headers['herald-id'] === misrouted.id);
    expect(letter, 'the dead letter of the misrouted message').toBeDefined();
    expect(letter!.reason).toContain('testkit: unknown event');
  },
};

const sharedChannel: TransportCase = {
  name: 'on a channel shared by several event names, the group also receives the others, marked channelShared true',
  async run(ctx) {
    if (!ctx.createShared) {
      skipCase('no createShared option: this transport does not carry several event names on one channel');
    }
    const shared = await ctx.createShared();
    const name = ctx.eventName();
    const other = ctx.eventName();
    const got = new Deliveries();
    await shared.subscribe({ group: ctx.group(), eventNames: [name] }, got.handler());
    const mine = testWireMessage({ name, orderingKey: `k-${uniqueSuffix()}` });
    const foreign = testWireMessage({ name: other });
    expectAllOk(await shared.publish([mine, foreign]), [mine, foreign]);
    await got.waitForIds([mine.id, foreign.id], ctx.timeoutMs);
    for (const item of got.items) {
      expect(item.message.channelShared, `channelShared of ${item.message.headers['herald-name']}`).toBe(
        true,
      );
    }
    await sleep(ctx.quietMs);
    expect(got.duplicates(), 'acknowledged messages came again').toEqual([]);
  },
};

const stop: TransportCase = {
  name: 'stop() waits for the delivery in flight, and nothing is delivered after it',
  async run(ctx) {
    const name = ctx.eventName();
    const group = ctx.group();
    const subscriber = await ctx.create();
    let finished = false;
    const got = new Deliveries();
    await subscriber.subscribe(
      { group, eventNames: [name] },
      got.handler('member', async () => {
        await sleep(200);
        finished = true;
        return ACK;
      }),
    );
    const first = testWireMessage({ name });
    expectAllOk(await ctx.transport.publish([first]), [first]);
    await got.waitForIds([first.id], ctx.timeoutMs);
    await subscriber.stop();
    expect(finished, 'stop() resolved while a handler was still running').toBe(true);
    const later = [testWireMessage({ name }), testWireMessage({ name })];
    expectAllOk(await ctx.transport.publish(later), later);
    await sleep(Math.max(ctx.quietMs, 300));
    expect(got.items.map((item) => item.id)).toEqual([first.id]);
  },
};

const restart: TransportCase = {
  name: 'after a broker restart the transport reconnects; confirmed messages survive when persistent',
  async run(ctx) {
    if (!ctx.restart) throw new Error('This case needs the `restart` option');
    const name = ctx.eventName();
    const group = ctx.group();
    const declare = await ctx.transport.subscribe({ group, eventNames: [name] }, new Deliveries().handler());
    await declare.close();
    const before = [testWireMessage({ name }), testWireMessage({ name })];
    expectAllOk(await ctx.transport.publish(before), before);
    await ctx.restart();

    const consumer = await ctx.create();
    const got = new Deliveries();
    await consumer.subscribe({ group, eventNames: [name] }, got.handler());
    const after = [testWireMessage({ name }), testWireMessage({ name })];
    await waitFor(
      async () => {
        const outcomes = await ctx.transport.publish(after).catch(() => []);
        return outcomes.length === after.length && outcomes.every((outcome) => outcome.ok);
      },
      {
        timeoutMs: ctx.timeoutMs,
        intervalMs: 200,
        describe: () => 'the transport did not publish after the restart',
      },
    );
    await got.waitForIds(idsOf(after), ctx.timeoutMs);
    if (!ctx.capabilities.persistent) {
      skipCase('reconnect checked; not that messages survive the restart (persistent is false)');
    }
    await got.waitForIds(idsOf(before), ctx.timeoutMs);
  },
};

/**
 * Every check a {@link Transport} must pass. Capability-dependent parts
 * (order, dead-letter store, group sharing, persistence, redelivery delay)
 * are asserted only when the transport declares the capability; the rest
 * always is. The restart case runs only when a `restart` hook is given.
 */
export const transportCases: readonly ConformanceCase<TransportTestContext>[] = [
  roundTrip,
  batch,
  ackRemoves,
  retry,
  deadLetter,
  ordering,
  retryKeepsOrder,
  consumerGroups,
  malformed,
  dedicatedChannel,
  sharedChannel,
  stop,
  restart,
];

/** The restart case, for callers that need to tell it apart. */
export const transportRestartCase: ConformanceCase<TransportTestContext> = restart;

/** Runs one transport case with transports from `options.create`, stopping every one afterwards. */
export async function runTransportCase(
  testCase: ConformanceCase<TransportTestContext>,
  options: Omit<TransportConformanceOptions, 'name'>,
): Promise<void> {
  const created: Transport[] = [];
  const create = async () => {
    const transport = await options.create();
    created.push(transport);
    await transport.start();
    return transport;
  };
  try {
    const transport = await create();
    const uniqueGroup = options.uniqueGroup ?? (() => `testkit-${uniqueSuffix()}`);
    await testCase.run({
      transport,
      create,
      capabilities: { ...transport.capabilities, ...options.capabilities },
      group: uniqueGroup,
      eventName: () => uniqueEventName('transport'),
      timeoutMs: options.timeoutMs ?? 10_000,
      quietMs: options.quietMs ?? 300,
      countsDeliveryAttempts: options.countsDeliveryAttempts ?? true,
      retryKeepsKeyOrder: options.retryKeepsKeyOrder ?? true,
      restart: options.restart,
      createShared: options.createShared
        ? async () => {
            const transport = await options.createShared!();
            created.push(transport);
            await transport.start();
            return transport;
          }
        : undefined,
    });
  } finally {
    await Promise.allSettled(created.map((transport) => transport.stop()));
  }
}

/**
 * Registers the transport conformance suite with vitest: one `it` per case in
 * {@link transportCases} (the restart case only with a `restart` hook).
 * Every case uses its own groups and event names, so the suite can run
 * against a shared broker.
 *
 * ```ts
 * describeTransportConformance({
 *   name: 'rabbitmq',
 *   create: async () => rabbitMqTransport({ url: process.env.RABBITMQ_URL! }),
 *   restart: () => restartService('rabbitmq'),
 * });
 * ```
 */
export function describeTransportConformance(options: TransportConformanceOptions): void {
  const timeoutMs = options.timeoutMs ?? 10_000;
  describeCases(
    `Transport conformance: ${options.name}`,
    transportCases.filter((testCase) => testCase !== restart || options.restart),
    (testCase) => runTransportCase(testCase, options),
    timeoutMs * 4 + 5_000,
  );
}
