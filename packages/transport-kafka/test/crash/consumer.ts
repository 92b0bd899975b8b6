/**
 * A Kafka consumer process for crash.test.ts (`node --import tsx`): subscribes
 * one group and, for every record, appends `partition offset id key` to a
 * file (`id key index`) synchronously before answering `ack`, so the file lists exactly the
 * records whose handling finished before any commit could cover them. The
 * parent SIGKILLs it mid-stream. Reports `ready` over IPC once it has joined.
 */
import { appendFileSync } from 'node:fs';
import { JsonSerializer } from '@herald/core';
import { kafkaTransport } from '../../src/index.js';
import { testOptions } from '../helpers.js';

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const output = need('CRASH_OUTPUT');
// Not @herald/testkit here: it imports vitest, which only runs inside the test runner.
const serializer = new JsonSerializer();

const transport = kafkaTransport(
  testOptions({
    topicPrefix: need('CRASH_TOPIC_PREFIX'),
    topics: { numPartitions: 3 },
    // Commit after every resolved record: the sharpest test of "never past an unhandled record".
    consumer: { autoCommitThreshold: 1, autoCommitInterval: 20, concurrency: 64 },
  }),
);
await transport.start();
await transport.subscribe(
  { group: need('CRASH_GROUP'), eventNames: [need('CRASH_EVENT')] },
  async (message) => {
    // Spread the finishing order, so records of a batch end out of offset order.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
    const id = message.headers['herald-id'];
    const key = message.headers['herald-ordering-key'] ?? '-';
    const { index } = serializer.deserialize(message.body) as { index: number };
    appendFileSync(output, `${id} ${key} ${index}\n`);
    return { kind: 'ack' };
  },
);
process.send?.({ type: 'ready' });
