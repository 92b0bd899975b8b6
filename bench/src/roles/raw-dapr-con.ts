// @dapr/dapr alone, consuming side: a streaming subscription (SubscribeTopicEventsAlpha1) through the
// SDK's own gRPC client (the SDK has no wrapper for it), answering SUCCESS to every event at once.
import { CommunicationProtocolEnum, DaprClient, type GRPCClient } from '@dapr/dapr';
import { nowMs } from '../histogram.ts';
import type { WorkerContext } from '../worker.ts';

export interface Config {
  grpcPort: number;
  pubsub: string;
  topic: string;
  count: number;
}

/** A pushable async iterable: the request side of the bidirectional stream. */
function requestStream<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(item: T) {
      queue.push(item);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
  };
}

export default async function run(config: Config, ctx: WorkerContext): Promise<void> {
  const client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(config.grpcPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: 0 },
  });
  const api = await (client.daprClient as GRPCClient).getClient(false);
  type Request =
    Parameters<typeof api.subscribeTopicEventsAlpha1>[0] extends AsyncIterable<infer R> ? R : never;
  const requests = requestStream<Request>();
  requests.push({
    subscribeTopicEventsRequestType: {
      case: 'initialRequest',
      value: { pubsubName: config.pubsub, topic: config.topic, metadata: {} },
    },
  });
  const abort = new AbortController();
  const responses = api
    .subscribeTopicEventsAlpha1(requests, { signal: abort.signal })
    [Symbol.asyncIterator]();
  await responses.next(); // the initial response: the consumer group exists
  ctx.send({ type: 'ready' });
  let received = 0;
  let first = 0;
  let last = 0;
  for (;;) {
    const next = await responses.next();
    if (next.done) break;
    const kind = next.value.subscribeTopicEventsResponseType;
    if (kind.case !== 'eventMessage') continue;
    const t = nowMs();
    if (received === 0) first = t;
    received++;
    last = t;
    requests.push({
      subscribeTopicEventsRequestType: {
        case: 'eventProcessed',
        value: { id: kind.value.id, status: { status: 0 } },
      },
    });
    if (received === config.count) break;
  }
  ctx.send({ type: 'done', received, duplicates: 0, first, last });
  requests.end();
  abort.abort();
  await client.stop();
}
