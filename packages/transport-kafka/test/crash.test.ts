import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testWireMessage } from '@herald/testkit';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteRunTopics, rawKafka, requireBroker, runId, testTransport, waitFor } from './helpers.js';

// A consumer process SIGKILLed in the middle of concurrently handled batches:
// nothing is committed past a record it had not handled, and nothing is lost after a restart.

const CONSUMER_SCRIPT = fileURLToPath(new URL('./crash/consumer.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const RECORDS = 500;
const KEYS = 20;

beforeAll(requireBroker);
const kafka = rawKafka();
const admin = kafka.admin();
beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());
afterAll(deleteRunTopics);

const workDir = mkdtempSync(join(tmpdir(), 'herald-kafka-crash-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Starts a consumer process; resolves once it has joined the group. */
async function consumer(env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(CONSUMER_SCRIPT, [], {
    cwd: PACKAGE_DIR,
    execArgv: ['--import', 'tsx', '--disable-warning=TimeoutNegativeWarning'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) =>
      reject(new Error(`the consumer process exited with ${code} before joining`)),
    );
  });
  return child;
}

/** `id key index` lines a consumer process wrote: the records it finished handling. */
function handledIn(file: string): Array<{ id: string; key: string; index: number }> {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [id, key, index] = line.split(' ');
      return { id: id!, key: key!, index: Number(index) };
    });
}

/** Every record of the topic with its partition and offset (a raw consumer's view). */
async function recordsOf(topic: string, expected: number) {
  const reader = kafka.consumer({ groupId: `herald-test-crash-reader-${runId}`, maxWaitTimeInMs: 100 });
  const seen: Array<{ partition: number; message: KafkaMessage }> = [];
  try {
    await reader.connect();
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, message });
      },
    });
    await waitFor(
      () => seen.length >= expected,
      15_000,
      () => `read ${seen.length} of ${expected} records`,
    );
  } finally {
    await reader.disconnect();
  }
  return seen.map(({ partition, message }) => ({
    partition,
    offset: Number(message.offset),
    id: message.headers!['herald-id']!.toString(),
  }));
}

describe('a consumer process killed mid-batch (SIGKILL)', () => {
  it('commits no offset past an unhandled record, and after a restart every record is handled', async () => {
    const topicPrefix = `herald-test-${runId}.`;
    const event = `kafka-crash.${runId}`;
    const group = `g-${runId}-crash`;
    const firstFile = join(workDir, 'first.log');
    const secondFile = join(workDir, 'second.log');
    writeFileSync(firstFile, '');
    writeFileSync(secondFile, '');
    const env = { CRASH_TOPIC_PREFIX: topicPrefix, CRASH_GROUP: group, CRASH_EVENT: event };

    const publisher = testTransport({ topicPrefix, topics: { numPartitions: 3 } });
    await publisher.start();
    try {
      const first = await consumer({ ...env, CRASH_OUTPUT: firstFile });
      const sent = Array.from({ length: RECORDS }, (_, index) =>
        testWireMessage({ name: event, orderingKey: `key-${index % KEYS}`, payload: { index } }),
      );
      for (let start = 0; start < RECORDS; start += 50) {
        const outcomes = await publisher.publish(sent.slice(start, start + 50));
        expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
      }
      await waitFor(
        () => handledIn(firstFile).length >= 150,
        20_000,
        () => `the first consumer handled ${handledIn(firstFile).length}`,
      );
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      const handledFirst = new Set(handledIn(firstFile).map((line) => line.id));
      expect(handledFirst.size, 'killed mid-stream').toBeLessThan(RECORDS);

      // What the dead member committed covers only records it had finished.
      const topic = publisher.options.topicFor(event);
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const committed = new Map(offsets!.partitions.map((p) => [p.partition, Number(p.offset)]));
      const records = await recordsOf(topic, RECORDS);
      const committedUnhandled = records.filter(
        (record) => record.offset < (committed.get(record.partition) ?? -1) && !handledFirst.has(record.id),
      );
      expect(committedUnhandled, 'offsets committed past records that were never handled').toEqual([]);
      expect(
        [...committed.values()].some((offset) => offset > 0),
        'the first consumer committed something',
      ).toBe(true);

      await consumer({ ...env, CRASH_OUTPUT: secondFile });
      const handledAll = () => new Set([...handledFirst, ...handledIn(secondFile).map((line) => line.id)]);
      await waitFor(
        () => handledAll().size >= RECORDS,
        30_000,
        () => `handled ${handledAll().size} of ${RECORDS} after the restart`,
      );
      const lost = sent.filter((message) => !handledAll().has(message.id));
      expect(lost, 'records lost across the crash').toEqual([]);
      // Per key, each process handled its records in publish order.
      for (const file of [firstFile, secondFile]) {
        const byKey = new Map<string, number[]>();
        for (const line of handledIn(file)) byKey.set(line.key, [...(byKey.get(line.key) ?? []), line.index]);
        for (const [key, indexes] of byKey) {
          expect(indexes, `order of ${key}`).toEqual([...indexes].sort((a, b) => a - b));
        }
      }
    } finally {
      await publisher.stop();
    }
  }, 60_000);
});
