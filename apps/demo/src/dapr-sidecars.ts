// --transport dapr: one Dapr sidecar (daprd) per service process, the way Dapr runs next to
// each service in production. Self-hosted: no placement, no scheduler, 127.0.0.1 only, free
// ports. The binary is the one tooling/services/dapr.sh builds and caches; the pub/sub
// component is Redis Streams on the first Redis of HERALD_REDIS_URLS. Each sidecar's app id is
// scoped to the run, so it is also the consumer group of its service (runs never share groups).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DAPR_PORTS_ENV, DAPR_PUBSUB, SERVICES } from '@herald/demo-kit';

export const DAPR_VERSION = process.env.DAPR_VERSION ?? 'v1.18.0';

/** The cached daprd of tooling/services/dapr.sh (or HERALD_DAPRD). */
export function daprdPath(): string {
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

function writeComponent(dir: string, redisUrl: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${DAPR_PUBSUB}.yaml`),
    `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${DAPR_PUBSUB}
spec:
  type: pubsub.redis
  version: v1
  metadata:
    - name: redisHost
      value: "${new URL(redisUrl).host}"
    # an event left unanswered by a killed service comes back after this long
    - name: processingTimeout
      value: "8s"
    - name: redeliverInterval
      value: "2s"
`,
  );
}

async function startOne(
  appId: string,
  resources: string,
  log: string,
): Promise<{ grpcPort: number; child: ChildProcess }> {
  const [grpcPort, httpPort, internalPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const args = [
    ...['--app-id', appId, '--resources-path', resources, '--log-level', 'warn'],
    ...['--dapr-grpc-port', String(grpcPort), '--dapr-http-port', String(httpPort)],
    ...['--dapr-internal-grpc-port', String(internalPort), '--metrics-port', String(metricsPort)],
    ...['--dapr-listen-addresses', '127.0.0.1', '--dapr-internal-grpc-listen-address', '127.0.0.1'],
    ...['--dapr-public-listen-address', '127.0.0.1', '--metrics-listen-address', '127.0.0.1'],
    ...['--placement-host-address', '', '--scheduler-host-address', ''],
  ];
  let output = '';
  const child = spawn(daprdPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daprd (${log}) exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`http://127.0.0.1:${httpPort}/v1.0/healthz`)).status === 204) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`daprd (${log}) did not become healthy within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { grpcPort, child };
}

/** The running sidecars of a demo run. */
export interface DaprSidecars {
  stop(): Promise<void>;
}

/**
 * Starts a sidecar per service and hands their gRPC ports to the service processes (through
 * the environment they inherit). Fails with the command to run when daprd is not built yet.
 */
export async function startDaprSidecars(run: {
  /** Run-scoped prefix of the app ids (the consumer groups). */
  readonly appIdPrefix: string;
  /** Where the component file goes. */
  readonly dataDir: string;
  readonly redisUrl: string;
}): Promise<DaprSidecars> {
  if (!existsSync(daprdPath())) {
    throw new Error(
      `no daprd at ${daprdPath()}: build it once with \`bash tooling/services/dapr.sh install\``,
    );
  }
  const resources = join(run.dataDir, 'dapr-components');
  writeComponent(resources, run.redisUrl);
  const started = await Promise.allSettled(
    SERVICES.map((service) => startOne(`${run.appIdPrefix}-${service}`, resources, service)),
  );
  const children = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value.child] : []));
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  const ports: Record<string, number> = {};
  SERVICES.forEach((service, index) => {
    ports[service] = (started[index] as PromiseFulfilledResult<{ grpcPort: number }>).value.grpcPort;
  });
  process.env[DAPR_PORTS_ENV] = JSON.stringify(ports);
  return { stop };
}
