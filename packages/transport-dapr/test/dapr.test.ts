import { CommunicationProtocolEnum, DaprClient, type GRPCClient } from '@dapr/dapr';
import { ConfigurationError, type PublishOutcome, uuidv7, WireHeaders, type WireMessage } from '@herald/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DaprGroupMappingError,
  DaprPublishError,
  DaprSidecarUnreachableError,
  type DaprTransport,
  daprTransport,
} from '../src/index.js';
import { componentsDir, runId, Sidecar, TestRedis, testLogger, testTransport } from './helpers.js';
import { expectHostileMessagesDeadLettered } from './hostile-messages.js';

const redis = new TestRedis();
let components: ReturnType<typeof componentsDir>;
let sidecar: Sidecar;
let plain: DaprClient;
const open: DaprTransport[] = [];

beforeAll(async () => {
  await redis.start();
  components = componentsDir({ redisPort: redis.port });
  sidecar = new Sidecar(components.dir);
  await sidecar.start();
  plain = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(sidecar.grpcPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: 0 },
  });
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(open.map((transport) => transport.stop()));
  await sidecar?.stop();
  await redis.stop();
  components?.cleanup();
});

async function started(overrides: Parameters<typeof testTransport>[2] = {}): Promise<DaprTransport> {
  const transport = testTransport(sidecar, 'redis', overrides);
  open.push(transport);
  await transport.start();
  return transport;
}

function wire(name: string, payload: unknown, orderingKey?: string): WireMessage {
  const id = uuidv7();
  return {
    id,
    name,
    ...(orderingKey ? { orderingKey } : {}),
    headers: {
      [WireHeaders.id]: id,
      [WireHeaders.name]: name,
      [WireHeaders.version]: '1',
      [WireHeaders.occurredAt]: new Date().toISOString(),
      [WireHeaders.source]: 'dapr-test',
      [WireHeaders.contentType]: 'application/json',
      ...(orderingKey ? { [WireHeaders.orderingKey]: orderingKey } : {}),
    },
    body: Buffer.from(JSON.stringify(payload)),
  };
}

describe('options', () => {
  it('refuses a missing pubsubName and a bad port with ConfigurationError', () => {
    expect(() => daprTransport({ pubsubName: '' })).toThrow(ConfigurationError);
    expect(() => daprTransport({ pubsubName: 'p', daprGrpcPort: 70_000 })).toThrow(ConfigurationError);
  });

  it('start() fails with DaprSidecarUnreachableError when no sidecar answers, without the API token in the text', async () => {
    const transport = daprTransport({
      pubsubName: 'redis-pubsub',
      daprGrpcPort: 1,
      daprApiToken: 'token-s3cr3t-value',
      startTimeoutMs: 600,
      logger: testLogger,
    });
    const error = await transport.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DaprSidecarUnreachableError);
    expect(String((error as Error).message)).not.toContain('token-s3cr3t-value');
  });
});

describe('publish', () => {
  it('reports a failure per message: entries for a missing component fail, the rest of the batch is confirmed', async () => {
    const good = `good-${runId}`;
    const lost = `lost-${runId}`;
    const transport = await started({
      pubsubFor: (name) => (name === lost ? 'no-such-component' : 'redis-pubsub'),
    });
    const batch = [wire(good, { n: 1 }), wire(lost, { n: 2 }), wire(good, { n: 3 }), wire(lost, { n: 4 })];
    const outcomes: PublishOutcome[] = await transport.publish(batch);
    expect(outcomes.map((outcome) => outcome.id)).toEqual(batch.map((message) => message.id));
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, true, false]);
    const failure = outcomes[1] as { ok: false; error: unknown };
    expect(failure.error).toBeInstanceOf(DaprPublishError);
    expect((failure.error as DaprPublishError).pubsubName).toBe('no-such-component');
  });

  it('a non-Herald Dapr subscriber reads the event: id, type, source, subject and the payload as its data', async () => {
    const name = `orders.placed-${runId}`;
    const transport = await started();
    const api = await (plain.daprClient as GRPCClient).getClient(false);
    const topic = `herald-test-${runId}.${name}`;
    const abort = new AbortController();
    const requests = (async function* () {
      yield {
        subscribeTopicEventsRequestType: {
          case: 'initialRequest' as const,
          value: { pubsubName: 'redis-gf', topic, metadata: {} },
        },
      };
      await new Promise((resolve) => abort.signal.addEventListener('abort', resolve));
    })();
    const responses = api
      .subscribeTopicEventsAlpha1(requests, { signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await responses.next()).value?.subscribeTopicEventsResponseType.case).toBe('initialResponse');
    const message = wire(name, { orderId: 'o-1', total: 42 }, 'customer-7');
    expect(await transport.publish([message])).toEqual([{ id: message.id, ok: true }]);
    const next = await responses.next();
    abort.abort();
    const kind = next.value!.subscribeTopicEventsResponseType;
    expect(kind.case).toBe('eventMessage');
    const event = kind.value as {
      id: string;
      type: string;
      source: string;
      dataContentType: string;
      data: Uint8Array;
      extensions?: Record<string, unknown>;
    };
    expect(event.id).toBe(message.id);
    expect(event.type).toBe(name);
    expect(event.source).toBe('dapr-test');
    expect(event.dataContentType).toBe('application/json');
    expect(JSON.parse(Buffer.from(event.data).toString())).toEqual({ orderId: 'o-1', total: 42 });
    expect(event.extensions?.subject).toBe('customer-7');
    expect(JSON.parse(String(event.extensions?.heraldheaders))).toEqual(message.headers);
  });
});

describe('subscribe', () => {
  it('refuses a second consumer group on one component with the default group mapping', async () => {
    const transport = testTransport(sidecar, 'redis', { groupPubsubFor: undefined });
    open.push(transport);
    await transport.start();
    const name = `mapping-${runId}`;
    await transport.subscribe({ group: 'ga', eventNames: [name] }, async () => ({ kind: 'ack' }));
    await expect(
      transport.subscribe({ group: 'gb', eventNames: [name] }, async () => ({ kind: 'ack' })),
    ).rejects.toBeInstanceOf(DaprGroupMappingError);
  });

  it('header-less, malformed and hostile messages from a plain Dapr client dead-letter with the reason', async () => {
    const transport = testTransport(sidecar, 'redis', { groupPubsubFor: () => 'redis-ge' });
    await expectHostileMessagesDeadLettered(transport, plain, 'redis-pubsub');
  }, 60_000);
});
