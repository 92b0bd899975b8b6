import { createServer } from 'node:net';
import { parseConfig, USAGE } from '@herald/demo-kit';
import { describe, expect, it } from 'vitest';
import { checkEngines } from '../src/engines.js';

/** A port nothing listens on: a server is opened on a free port and closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('engine check before a run', () => {
  it('waits for every engine at once, says so, and names the commands that start them', async () => {
    const [pgPort, rabbitPort] = [await closedPort(), await closedPort()];
    const config = parseConfig(['--transport', 'rabbitmq', '--db', 'postgres'], {
      HERALD_PG_URL: `postgres://u:secret@127.0.0.1:${pgPort}/x`,
      HERALD_RABBITMQ_URL: `amqp://u:secret@127.0.0.1:${rabbitPort}`,
    });
    const progress: string[] = [];
    const started = Date.now();
    const error = await checkEngines(config, 1_500, (line) => progress.push(line)).catch((e: Error) => e);
    const elapsed = Date.now() - started;
    expect(progress).toEqual([
      `› waiting up to 2 s for PostgreSQL at 127.0.0.1:${pgPort} …`,
      `› waiting up to 2 s for RabbitMQ at 127.0.0.1:${rabbitPort} …`,
    ]);
    // Both waits overlap: one engine's wait, not the sum of them.
    expect(elapsed).toBeLessThan(2 * 1_500);
    expect(String(error)).toContain(`PostgreSQL is not reachable at 127.0.0.1:${pgPort}`);
    expect(String(error)).toContain('bash tooling/services/up.sh postgres rabbitmq');
    expect(String(error)).toContain('docker compose up -d --wait');
    expect(String(error)).not.toContain('secret');
  });

  it('the usage text names the default SQLite folder the runs use', () => {
    expect(USAGE).toContain('/dev/shm/herald-<namespace>-<run>');
    expect(parseConfig(['--run', 'r1'], {}).dataDir).toMatch(/herald-demo-r1$/);
  });
});
