import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { consoleLogger, type Logger, sleep } from '@herald/core';
import { deleteTopicsStartingWith } from '@herald/testkit/engines';
import { Kafka, logLevel } from 'kafkajs';
import { type KafkaTransportOptions, kafkaTransport } from '../src/index.js';

/** Brokers under test: `HERALD_KAFKA_BROKERS` (set by tooling/services/up.sh kafka), default 127.0.0.1:9092. */
export const brokers = (process.env.HERALD_KAFKA_BROKERS ?? '127.0.0.1:9092')
  .split(',')
  .map((broker) => broker.trim())
  .filter(Boolean);

/** Unique per test file run, so runs never see each other's topics or groups. */
export const runId = randomUUID().slice(0, 8);

/** Fails (never skips) with a hint when the broker is not reachable. */
export async function requireBroker(): Promise<void> {
  const [host, port] = brokers[0]!.split(':') as [string, string];
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port: Number(port), timeout: 3_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
  if (!reachable) {
    throw new Error(
      `No Kafka broker at ${brokers.join(',')}. Start one with \`bash tooling/services/up.sh kafka\` ` +
        '(or point HERALD_KAFKA_BROKERS at a running broker).',
    );
  }
}

/** Test logger: errors only, unless HERALD_LOG_LEVEL says otherwise. */
export const testLogger: Logger = consoleLogger((process.env.HERALD_LOG_LEVEL as 'error') ?? 'error');

/** Small timeouts so groups form and rebalance quickly on a shared 2-core machine. */
export function testOptions(overrides: Partial<KafkaTransportOptions> = {}): KafkaTransportOptions {
  return {
    brokers,
    clientId: `herald-test-${runId}`,
    topicPrefix: `herald-test-${runId}.`,
    startTimeout: 10_000,
    logger: testLogger,
    ...overrides,
    consumer: {
      sessionTimeout: 6_000,
      heartbeatInterval: 300,
      rebalanceTimeout: 8_000,
      maxWaitTimeInMs: 100,
      metadataMaxAge: 5_000,
      joinTimeout: 20_000,
      ...overrides.consumer,
    },
    producer: { ...overrides.producer },
  };
}

/** A transport with test timeouts (not started). */
export function testTransport(overrides: Partial<KafkaTransportOptions> = {}) {
  return kafkaTransport(testOptions(overrides));
}

/** A plain kafkajs client, for acting as a foreign producer and inspecting topics. */
export function rawKafka(): Kafka {
  return new Kafka({
    brokers,
    clientId: `herald-test-raw-${runId}`,
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });
}

/**
 * Deletes this run's topics (every topic the test transports created starts with the run's
 * prefix), so repeated runs do not pile up partitions the broker must load on each restart.
 */
export async function deleteRunTopics(): Promise<void> {
  await deleteTopicsStartingWith(rawKafka().admin(), `herald-test-${runId}.`);
}

/** Restarts the broker with the repository's service script (enables the conformance restart case). */
export function restartBroker(): Promise<void> {
  const script = fileURLToPath(new URL('../../../tooling/services/kafka.sh', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile('bash', [script, 'restart'], { timeout: 180_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`kafka.sh restart failed: ${error.message}\n${stderr}`));
      else resolve();
    });
  });
}

/** Polls `condition` until it holds; rejects with `describe()` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(20);
  }
}

/** Core's `sleep`, re-exported for the tests. */
export { sleep };
