import { connect } from 'node:net';
import type { DemoConfig } from '@herald/demo-kit';

/** Resolves when a TCP connection to host:port opens within `timeoutMs`. */
function reachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `tcp://${url}`);
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) };
}

/**
 * Checks that the broker and database servers of `config` accept connections before any
 * service starts, waiting up to `waitMs` for each (one may be restarting) — all at once, and
 * saying so through `progress` when one does not answer at first — and names the command that
 * starts a missing one.
 */
export async function checkEngines(
  config: DemoConfig,
  waitMs = 15_000,
  progress: (line: string) => void = () => {},
): Promise<void> {
  const engines: Array<{ name: string; script: string; url: string; port: number }> = [];
  if (config.db === 'postgres')
    engines.push({ name: 'PostgreSQL', script: 'postgres', url: config.urls.postgres, port: 5432 });
  if (config.db === 'mariadb')
    engines.push({ name: 'MariaDB', script: 'mariadb', url: config.urls.mariadb, port: 3306 });
  if (config.db === 'mongodb')
    engines.push({ name: 'MongoDB (FerretDB)', script: 'ferretdb', url: config.urls.mongodb, port: 27017 });
  if (config.transport === 'rabbitmq')
    engines.push({ name: 'RabbitMQ', script: 'rabbitmq', url: config.urls.rabbitmq, port: 5672 });
  if (config.transport === 'kafka')
    engines.push({ name: 'Kafka', script: 'kafka', url: config.urls.kafka[0] ?? '', port: 9092 });
  if (config.transport === 'dapr')
    engines.push({ name: 'Redis (behind Dapr)', script: 'redis dapr', url: config.urls.redis, port: 6379 });
  const waitFor = async (engine: (typeof engines)[number]): Promise<string | undefined> => {
    const { host, port } = hostPort(engine.url, engine.port);
    const deadline = Date.now() + waitMs;
    let up = await reachable(host, port, 3_000);
    if (!up && Date.now() < deadline)
      progress(`› waiting up to ${Math.round(waitMs / 1000)} s for ${engine.name} at ${host}:${port} …`);
    while (!up && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      up = await reachable(host, port, 3_000);
    }
    return up ? undefined : `${engine.name} is not reachable at ${host}:${port}`;
  };
  const missing = (await Promise.all(engines.map(waitFor))).filter((line) => line !== undefined);
  if (missing.length > 0) {
    const scripts = engines.map((engine) => engine.script).join(' ');
    throw new Error(
      `${missing.join('; ')}. Start the engines with: bash tooling/services/up.sh ${scripts} ` +
        '(or, with Docker: docker compose up -d --wait, see the root README)',
    );
  }
}
