import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleLogger, type Logger, sleep, uuidv7, WireHeaders, type WireMessage } from '@herald/core';
import { deleteTopicsStartingWith } from '@herald/testkit/engines';
import { Kafka, logLevel } from 'kafkajs';

export { sleep };

import { type DaprTransport, type DaprTransportOptions, daprTransport } from '../src/index.js';

/** Pinned like tooling/services/dapr.sh. */
export const DAPR_VERSION = process.env.DAPR_VERSION ?? 'v1.18.0';
const servicesDir = process.env.HERALD_SERVICES_DIR ?? '/var/tmp/herald-services';

/** The cached daprd of tooling/services/dapr.sh (or `HERALD_DAPRD`). */
export const daprdPath = process.env.HERALD_DAPRD ?? join(servicesDir, 'dapr', 'bin', DAPR_VERSION, 'daprd');

/** Unique per test file run, so runs never see each other's topics, queues or groups. */
export const runId = randomUUID().slice(0, 8);

/** Test logger: errors only, unless HERALD_LOG_LEVEL says otherwise. */
export const testLogger: Logger = consoleLogger((process.env.HERALD_LOG_LEVEL as 'error') ?? 'error');

/** Consumer groups the test components are made for (a Dapr consumer group is a component's consumerID). */
export const TEST_GROUPS = ['ga', 'gb', 'gc', 'gd', 'ge', 'gf'] as const;

/** Hands out the test groups in turn, so two calls in one case never get the same one. */
export function groupCycler(): () => string {
  let next = 0;
  return () => TEST_GROUPS[next++ % TEST_GROUPS.length]!;
}

/** Fails (never skips) with a hint when daprd is not built yet. */
export function requireDaprd(): void {
  if (!existsSync(daprdPath)) {
    throw new Error(
      `No daprd at ${daprdPath}. Build it once with \`bash tooling/services/dapr.sh install\` ` +
        '(or point HERALD_DAPRD at a daprd binary).',
    );
  }
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** True when something accepts TCP connections on the port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1_000 });
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
    await sleep(50);
  }
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals, timeoutMs = 15_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * A private Redis with an append-only file (fsync always), so a restart
 * keeps every stream: the shared Redis of tooling/services runs without
 * persistence and other engineers' tests use it.
 */
export class TestRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'herald-dapr-redis-'));
  port = 0;
  private child: ChildProcess | undefined;

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      () => portOpen(this.port),
      15_000,
      () => `redis-server did not open port ${this.port}`,
    );
  }

  /** Stops (SIGTERM: the AOF is flushed) and starts it again on the same port and directory. */
  async restart(downMs = 500): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
    await sleep(downMs);
    await this.start();
  }

  /** Stops it (SIGTERM), keeping its directory: `start()` brings it back with its streams. */
  async down(): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Kafka of tooling/services (HERALD_KAFKA_BROKERS). */
export const kafkaBrokers = process.env.HERALD_KAFKA_BROKERS ?? '127.0.0.1:9092';

/** RabbitMQ of tooling/services (HERALD_RABBITMQ_URL), split into what the Dapr component wants. */
export const rabbitUrl = process.env.HERALD_RABBITMQ_URL ?? 'amqp://herald:herald@127.0.0.1:5672';

/** One Dapr component file (YAML) of `type` with string metadata. */
export function component(name: string, type: string, metadata: Record<string, string>): string {
  const items = Object.entries(metadata)
    .map(([key, value]) => `    - name: ${key}\n      value: ${JSON.stringify(value)}`)
    .join('\n');
  return `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n${items}\n`;
}

/** Component files of the tests: a publish component and one per test group, per broker. */
export function writeComponents(
  dir: string,
  brokers: { redisPort?: number; rabbit?: boolean; kafka?: boolean },
): void {
  const redis = (consumerID: string) =>
    component(`redis-${consumerID === 'publisher' ? 'pubsub' : consumerID}`, 'pubsub.redis', {
      redisHost: `127.0.0.1:${brokers.redisPort}`,
      consumerID,
      // A message left unanswered (sidecar killed, stream broken) comes back after this.
      processingTimeout: '5s',
      redeliverInterval: '1s',
      concurrency: '32',
    });
  const rabbit = (consumerID: string) =>
    component(`rabbit-${consumerID === 'publisher' ? 'pubsub' : consumerID}`, 'pubsub.rabbitmq', {
      connectionString: rabbitUrl,
      consumerID: `herald-dapr-${runId}-${consumerID}`,
      durable: 'true',
      deletedWhenUnused: 'false',
      autoAck: 'false',
      deliveryMode: '2',
      requeueInFailure: 'true',
      publisherConfirm: 'true',
      reconnectWait: '1s',
      concurrencyMode: 'parallel',
    });
  const kafka = (group: string) =>
    component(`kafka-${group === 'publisher' ? 'pubsub' : group}`, 'pubsub.kafka', {
      brokers: kafkaBrokers,
      consumerGroup: `herald-dapr-${runId}-${group}`,
      clientID: `herald-dapr-${runId}`,
      authType: 'none',
      initialOffset: 'oldest',
    });
  for (const consumerID of ['publisher', ...TEST_GROUPS]) {
    if (brokers.kafka) writeFileSync(join(dir, `kafka-${consumerID}.yaml`), kafka(consumerID));
    if (brokers.redisPort) writeFileSync(join(dir, `redis-${consumerID}.yaml`), redis(consumerID));
    if (brokers.rabbit) writeFileSync(join(dir, `rabbit-${consumerID}.yaml`), rabbit(consumerID));
  }
}

/**
 * One self-hosted daprd: no placement, no scheduler, everything on
 * 127.0.0.1 and free ports. `kill()` and `start()` again keep the ports.
 */
export class Sidecar {
  grpcPort = 0;
  httpPort = 0;
  private internalPort = 0;
  private metricsPort = 0;
  private child: ChildProcess | undefined;
  private output = '';

  /**
   * `appPort`: the sidecar calls an app there (app-callback subscriptions), with
   * app health checks each second so a subscription made later is read within seconds.
   */
  constructor(
    readonly resourcesPath: string,
    readonly appId = `herald-test-${runId}-${randomUUID().slice(0, 4)}`,
    readonly appPort?: number,
  ) {}

  async start(): Promise<void> {
    requireDaprd();
    if (this.grpcPort === 0) {
      this.grpcPort = await freePort();
      this.httpPort = await freePort();
      this.internalPort = await freePort();
      this.metricsPort = await freePort();
    }
    this.output = '';
    this.child = spawn(
      daprdPath,
      [
        '--app-id',
        this.appId,
        '--dapr-grpc-port',
        String(this.grpcPort),
        '--dapr-http-port',
        String(this.httpPort),
        '--dapr-internal-grpc-port',
        String(this.internalPort),
        '--metrics-port',
        String(this.metricsPort),
        '--dapr-listen-addresses',
        '127.0.0.1',
        '--dapr-internal-grpc-listen-address',
        '127.0.0.1',
        '--dapr-public-listen-address',
        '127.0.0.1',
        '--metrics-listen-address',
        '127.0.0.1',
        '--resources-path',
        this.resourcesPath,
        '--placement-host-address',
        '',
        '--scheduler-host-address',
        '',
        '--log-level',
        process.env.HERALD_DAPR_LOG_LEVEL ?? 'warn',
        ...(this.appPort === undefined
          ? []
          : [
              '--app-port',
              String(this.appPort),
              '--app-protocol',
              'http',
              '--enable-app-health-check',
              '--app-health-probe-interval',
              '1',
              '--app-health-threshold',
              '1',
            ]),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    const child = this.child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`daprd exited (${child.exitCode}):\n${this.output}`);
        try {
          // With an app, /healthz waits for the app; the outbound check only for the sidecar itself.
          const path = this.appPort === undefined ? 'healthz' : 'healthz/outbound';
          const response = await fetch(`http://127.0.0.1:${this.httpPort}/v1.0/${path}`);
          return response.status === 204;
        } catch {
          return false;
        }
      },
      60_000,
      () => `daprd did not become healthy:\n${this.output}`,
    );
  }

  /** SIGKILL: no graceful shutdown, in-flight events unanswered. */
  async kill(): Promise<void> {
    await stopChild(this.child, 'SIGKILL');
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 'SIGTERM');
  }

  /** The daprd process id while it runs (so a test can end a sidecar its crashed owner left behind). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines daprd printed (for failing tests). */
  get log(): string {
    return this.output;
  }
}

/** A directory of component files for one test file, removed by `cleanup`. */
export function componentsDir(brokers: { redisPort?: number; rabbit?: boolean; kafka?: boolean }): {
  dir: string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'herald-dapr-components-'));
  writeComponents(dir, brokers);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A transport on `sidecar` with test settings: per-group components of `broker`, a run-unique topic prefix. */
export function testTransport(
  sidecar: Sidecar,
  broker: 'redis' | 'rabbit' | 'kafka',
  overrides: Partial<DaprTransportOptions> = {},
) {
  return daprTransport({
    daprGrpcPort: sidecar.grpcPort,
    pubsubName: `${broker}-pubsub`,
    groupPubsubFor: (group) => `${broker}-${group}`,
    topicPrefix: `herald-test-${runId}.`,
    startTimeoutMs: 20_000,
    subscribeTimeoutMs: 20_000,
    resubscribeDelayMs: 300,
    logger: testLogger,
    ...overrides,
  });
}

/** A Herald wire message of `name` with a JSON `payload`, as the relay would hand it to the transport. */
export function heraldWire(name: string, payload: unknown, source = 'dapr-test'): WireMessage {
  const id = uuidv7();
  return {
    id,
    name,
    headers: {
      [WireHeaders.id]: id,
      [WireHeaders.name]: name,
      [WireHeaders.version]: '1',
      [WireHeaders.occurredAt]: new Date().toISOString(),
      [WireHeaders.source]: source,
      [WireHeaders.contentType]: 'application/json',
    },
    body: Buffer.from(JSON.stringify(payload)),
  };
}

/** Transports a test file starts on one sidecar (`started`), all stopped by `stopAll` (afterAll). */
export function transportPool(sidecar: () => Sidecar, broker: 'redis' | 'rabbit' | 'kafka') {
  const open: DaprTransport[] = [];
  return {
    async started(overrides: Partial<DaprTransportOptions> = {}): Promise<DaprTransport> {
      const transport = testTransport(sidecar(), broker, overrides);
      open.push(transport);
      await transport.start();
      return transport;
    },
    async stopAll(): Promise<void> {
      await Promise.allSettled(open.map((transport) => transport.stop()));
    },
  };
}

/**
 * A test file's daprd on `broker`, with its pooled transports. The file registers `start` in
 * `beforeAll` (start the broker where it is private, write the components, start daprd) and
 * `stop` in `afterAll` (stop the pooled transports, daprd, then the broker; remove the
 * components). This module does not import vitest itself: bus-scenario pair modules import it in
 * forked plain-node children, where importing vitest throws.
 * - `'redis'`: a private {@link TestRedis} with the test components on it; `redis()` is it.
 * - `'kafka'`: the shared Kafka; the run's topics are deleted in `stop`.
 * `addComponents(dir)` writes more component files before daprd starts. `sidecar()` and
 * `redis()` throw when read before `start` made them.
 */
export function sidecarFixture(
  broker: 'redis' | 'kafka',
  options: { addComponents?: (dir: string) => void } = {},
) {
  const redis = broker === 'redis' ? new TestRedis() : undefined;
  let components: ReturnType<typeof componentsDir> | undefined;
  let sidecar: Sidecar | undefined;
  const running = (): Sidecar => {
    if (!sidecar) throw new Error('No sidecar yet: register sidecarFixture().start in beforeAll');
    return sidecar;
  };
  const { started, stopAll } = transportPool(running, broker);
  return {
    async start(): Promise<void> {
      await redis?.start();
      components = componentsDir(redis ? { redisPort: redis.port } : { kafka: true });
      options.addComponents?.(components.dir);
      sidecar = new Sidecar(components.dir);
      await sidecar.start();
    },
    async stop(): Promise<void> {
      await stopAll();
      await sidecar?.stop();
      await redis?.stop();
      components?.cleanup();
      if (broker === 'kafka') await deleteRunTopics();
    },
    /** A transport on the sidecar, started; `stop` stops it. */
    started,
    sidecar: running,
    redis(): TestRedis {
      if (!redis) throw new Error('This sidecar is on Kafka: it has no TestRedis');
      return redis;
    },
  };
}

/** Deletes the Kafka topics Dapr created for this run (event and dead-letter topics), so the shared broker does not pile them up. */
export async function deleteRunTopics(): Promise<void> {
  const admin = new Kafka({ brokers: kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await deleteTopicsStartingWith(admin, `herald-test-${runId}.`);
}
