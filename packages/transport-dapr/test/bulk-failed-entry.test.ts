import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WireHeaders, type WireMessage } from '@herald/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DaprPublishError } from '../src/index.js';
import { component, heraldWire, kafkaBrokers, runId, sidecarFixture, sleep, waitFor } from './helpers.js';

// One entry of a bulk publish refused while the others are written: pubsub.kafka with a producer
// limit (maxMessageBytes) that one entry exceeds — sarama refuses that message alone and the
// component reports it as the one failed entry. daprd 1.18 passes that list on over HTTP only;
// over gRPC the call fails as a whole (pkg/api/grpc/grpc.go bulkPublishEvent).

const SMALL_COMPONENT = 'kafka-small';
const MAX_MESSAGE_BYTES = 4_096;
const dapr = sidecarFixture('kafka', {
  addComponents(dir) {
    writeFileSync(
      join(dir, `${SMALL_COMPONENT}.yaml`),
      component(SMALL_COMPONENT, 'pubsub.kafka', {
        brokers: kafkaBrokers,
        consumerGroup: `herald-dapr-${runId}-small`,
        clientID: `herald-dapr-${runId}-small`,
        authType: 'none',
        maxMessageBytes: String(MAX_MESSAGE_BYTES),
      }),
    );
  },
});
const { started, sidecar } = dapr;
beforeAll(dapr.start, 120_000);
afterAll(dapr.stop, 60_000);

/** A message of `bodyBytes` padding: small ones pass the component's limit, a large one does not. */
function wire(name: string, bodyBytes: number): WireMessage {
  return heraldWire(name, { pad: 'x'.repeat(bodyBytes) }, 'dapr-bulk');
}

it('over HTTP only the entry the component refused is reported failed; the others are delivered once, and re-sending just that one fails alone again', async () => {
  const name = `bulk-http-${runId}`;
  const consumer = await started();
  const delivered: string[] = [];
  await consumer.subscribe({ group: 'ga', eventNames: [name] }, async (message) => {
    delivered.push(message.headers[WireHeaders.id]!);
    return { kind: 'ack' };
  });
  const publisher = await started({
    pubsubName: SMALL_COMPONENT,
    bulkPublishApi: 'http',
    daprHttpPort: sidecar().httpPort,
  });
  const batch = [wire(name, 10), wire(name, 10), wire(name, MAX_MESSAGE_BYTES * 2), wire(name, 10)];
  const outcomes = await publisher.publish(batch);
  expect(outcomes.map((outcome) => outcome.id)).toEqual(batch.map((message) => message.id));
  expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, false, true]);
  const failure = outcomes[2] as { ok: false; error: unknown };
  expect(failure.error).toBeInstanceOf(DaprPublishError);
  expect((failure.error as DaprPublishError).retriable).toBe(true);
  // What the relay does next: re-send only the failed one (refused again: still too large).
  const again = await publisher.publish([batch[2]!]);
  expect(again.map((outcome) => outcome.ok)).toEqual([false]);
  const written = [batch[0]!.id, batch[1]!.id, batch[3]!.id];
  await waitFor(
    () => written.every((id) => delivered.includes(id)),
    30_000,
    () => `delivered ${delivered.length} of 3`,
  );
  await sleep(1_000);
  expect([...delivered].sort(), 'each written entry once, the refused one never').toEqual(
    [...written].sort(),
  );
}, 90_000);

it('over gRPC daprd reports the same partial failure as a failed call: every entry of it is reported failed', async () => {
  const name = `bulk-grpc-${runId}`;
  const publisher = await started({ pubsubName: SMALL_COMPONENT });
  const batch = [wire(name, 10), wire(name, MAX_MESSAGE_BYTES * 2), wire(name, 10)];
  const outcomes = await publisher.publish(batch);
  expect(outcomes.map((outcome) => outcome.ok)).toEqual([false, false, false]);
}, 60_000);
