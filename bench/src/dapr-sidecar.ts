// A Dapr sidecar for the Dapr workloads: the daprd cached by tooling/services/dapr.sh, self-hosted
// (no placement, no scheduler), on free ports of 127.0.0.1, with a Redis Streams component on the
// shared Redis. Herald (drain-dapr) and the raw SDK (raw-dapr) go through the same sidecar and component.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DAPR_VERSION = process.env.DAPR_VERSION ?? 'v1.18.0';
export const PUBSUB = 'redis-pubsub';

function daprdPath(): string {
  const dir = process.env.HERALD_SERVICES_DIR ?? '/var/tmp/herald-services';
  return process.env.HERALD_DAPRD ?? join(dir, 'dapr', 'bin', DAPR_VERSION, 'daprd');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface BenchSidecar {
  readonly grpcPort: number;
  stop(): Promise<void>;
}

/** Starts daprd with app id `appId` (the consumer group of the component) and waits until it is healthy. */
export async function startSidecar(appId: string, redisUrl: string): Promise<BenchSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-dapr-'));
  const redisHost = new URL(redisUrl).host;
  writeFileSync(
    join(dir, 'redis-pubsub.yaml'),
    `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${PUBSUB}
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - name: redisHost
      value: "${redisHost}"
    - name: concurrency
      value: "100"
    - name: queueDepth
      value: "1000"
`,
  );
  const [grpcPort, httpPort, internalPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const child: ChildProcess = spawn(
    daprdPath(),
    [
      '--app-id',
      appId,
      '--dapr-grpc-port',
      String(grpcPort),
      '--dapr-http-port',
      String(httpPort),
      '--dapr-internal-grpc-port',
      String(internalPort),
      '--metrics-port',
      String(metricsPort),
      '--dapr-listen-addresses',
      '127.0.0.1',
      '--dapr-internal-grpc-listen-address',
      '127.0.0.1',
      '--dapr-public-listen-address',
      '127.0.0.1',
      '--metrics-listen-address',
      '127.0.0.1',
      '--resources-path',
      dir,
      '--placement-host-address',
      '',
      '--scheduler-host-address',
      '',
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(
        `daprd exited with ${child.exitCode} (is it built? bash tooling/services/dapr.sh install)`,
      );
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/v1.0/healthz`)).status === 204) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('daprd did not become healthy within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    grpcPort,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
