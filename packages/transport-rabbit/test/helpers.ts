import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BusPair } from '@herald/testkit/bus-pair';
import { type ChannelModel, connect } from 'amqplib';
import { type RabbitMqTransport, type RabbitMqTransportOptions, rabbitMqTransport } from '../src/index.js';

/** The broker under test: `HERALD_RABBITMQ_URL`, default the one `tooling/services/up.sh rabbitmq` starts. */
export const rabbitUrl = process.env.HERALD_RABBITMQ_URL ?? 'amqp://herald:herald@127.0.0.1:5672';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const serviceScript = join(repoRoot, 'tooling/services/rabbitmq.sh');

/** Fails (never skips) with instructions when RabbitMQ is not reachable. */
export async function requireRabbit(): Promise<void> {
  let model: ChannelModel | undefined;
  try {
    model = await connect(rabbitUrl, { timeout: 5_000 });
  } catch (error) {
    throw new Error(
      `RabbitMQ is not reachable at ${rabbitUrl} (${(error as Error).message}). ` +
        'Start it with `bash tooling/services/up.sh rabbitmq` (or set HERALD_RABBITMQ_URL).',
    );
  } finally {
    await model?.close().catch(() => undefined);
  }
}

/** Whether the repo's service script can restart the broker. */
export const canRestart = existsSync(serviceScript);

/**
 * Runs `bash tooling/services/rabbitmq.sh <command>` (restart keeps durable
 * data). Its output goes to a log file: the script leaves the started broker
 * holding the caller's stdout, so a pipe would never close.
 */
export function rabbitService(command: 'restart' | 'stop' | 'start'): Promise<void> {
  if (!canRestart)
    return Promise.reject(new Error(`${serviceScript} is missing; cannot ${command} RabbitMQ`));
  const logPath = join(tmpdir(), `herald-rabbitmq-${command}-${process.pid}.log`);
  const log = openSync(logPath, 'a');
  return new Promise<void>((resolvePromise, reject) => {
    // A bounded lock wait: a restart that runs long after the test gave up would hit other tests.
    const child = spawn('bash', [serviceScript, command], {
      stdio: ['ignore', log, log],
      env: { ...process.env, HERALD_LOCK_TIMEOUT: '60' },
    });
    const killChild = () => child.kill('SIGTERM');
    process.once('exit', killChild);
    const timer = setTimeout(() => {
      killChild();
      reject(new Error(`rabbitmq.sh ${command} did not finish within 150 s (log: ${logPath})`));
    }, 150_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      process.off('exit', killChild);
      closeSync(log);
      if (code === 0) resolvePromise();
      else reject(new Error(`rabbitmq.sh ${command} exited with ${code} (log: ${logPath})`));
    });
  });
}

/** A name no other test run uses. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

/**
 * The run of a bus-scenario test file on one pair: a run id from `prefix`; `setUp` (checks the
 * broker, runs `pair.setup`) and `tearDown` (runs `pair.teardown` with the consumer groups of the
 * cases, `scenario-<runId>-<caseId>`) for the file's `beforeAll` and `afterAll`. This module
 * does not import vitest itself: bus-scenario pair modules import it in forked plain-node
 * children. `settings()` throws before `setUp` has set them.
 */
export function scenarioPairRun(pair: BusPair, prefix: string, caseIds: readonly string[]) {
  const runId = unique(prefix).replace('-', '').slice(0, 9);
  let settings: Record<string, string> | undefined;
  return {
    runId,
    async setUp(): Promise<void> {
      await requireRabbit();
      settings = await pair.setup!(runId);
    },
    async tearDown(): Promise<void> {
      if (settings)
        await pair.teardown!(
          settings,
          caseIds.map((caseId) => `scenario-${runId}-${caseId}`),
        );
    },
    settings(): Record<string, string> {
      if (!settings) throw new Error('No scenario settings yet: register setUp in beforeAll');
      return settings;
    },
  };
}

/**
 * Creates transports on one test exchange and remembers every group they
 * subscribe, so `cleanup()` can delete the queues and the exchange.
 */
export class TestBroker {
  readonly exchange = unique('herald-test');
  readonly #queues = new Set<string>();
  readonly #created: RabbitMqTransport[] = [];

  transport(options: Partial<RabbitMqTransportOptions> = {}): RabbitMqTransport {
    const transport = rabbitMqTransport({
      url: rabbitUrl,
      exchange: this.exchange,
      connectTimeoutMs: 20_000,
      ...options,
    });
    const subscribe = transport.subscribe.bind(transport);
    transport.subscribe = (subscription, handler) => {
      const queues = transport.topology.queuesOf(subscription.group);
      for (const queue of [queues.queue, queues.deadLetter, ...queues.retry.map((tier) => tier.queue)])
        this.#queues.add(queue);
      return subscribe(subscription, handler);
    };
    this.#created.push(transport);
    return transport;
  }

  /** Stops every transport and deletes the exchange and all queues of the groups used. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.#created.map((transport) => transport.stop()));
    const model = await connect(rabbitUrl);
    try {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      for (const queue of this.#queues) await channel.deleteQueue(queue);
      await channel.deleteExchange(this.exchange);
      await channel.close();
    } finally {
      await model.close();
    }
  }
}

/** Polls `condition` every 20 ms until it holds; throws `describe()` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolveTimer) => setTimeout(resolveTimer, 20));
  }
}
