import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, '../dist/cli.js');
const core = pathToFileURL(resolve(import.meta.dirname, '../node_modules/@herald/core/dist/index.js')).href;

/** A config module whose bus holds one dead outbox record, one published one and one delayed until 2099. */
function writeConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  const file = join(dir, 'herald.config.mjs');
  writeFileSync(
    file,
    `import { createIntegrationEventBus, memoryEventLog, defineEvent, silentLogger } from '${core}';
const Shipped = defineEvent('shipping.shipped');
const log = memoryEventLog();
const bus = createIntegrationEventBus({ service: 'shipping', logger: silentLogger }).useEventLog(log).build();
// Fixed ids: every CLI run loads this module afresh.
await bus.publish(new Shipped({ parcel: 'p-1' }), { id: '01900000-0000-7000-8000-000000000001' });
await bus.publish(new Shipped({ parcel: 'p-2' }), { id: '01900000-0000-7000-8000-000000000002' });
await bus.publish(new Shipped({ parcel: 'p-3' }), { id: '01900000-0000-7000-8000-000000000003', deliverAt: new Date('2099-01-01T00:00:00Z') });
const [first, second] = await log.outbox.claim({ limit: 2, leaseMs: 1000, owner: 'cli-test', now: new Date() });
await log.outbox.markFailed([{ id: first.message.id, error: 'carrier API returned 503', nextAttemptAt: null }], new Date());
await log.outbox.markPublished([second.message.id], new Date());
export default bus;
`,
  );
  return file;
}

describe('herald CLI', () => {
  it('lists, shows, re-queues and purges records of the configured bus', async () => {
    const config = writeConfig();
    const herald = (...args: string[]) => run(process.execPath, [cli, ...args, '--config', config]);

    const list = await herald('outbox', 'list', '--status', 'dead');
    expect(list.stdout).toMatch(/shipping\.shipped .* dead .* carrier API returned 503/);
    const json = JSON.parse((await herald('outbox', 'list', '--json')).stdout) as Array<{
      id: string;
      status: string;
    }>;
    expect(json.map((r) => r.status).sort()).toEqual(['dead', 'pending', 'published']);
    const delayed = await herald('outbox', 'list', '--status', 'pending');
    expect(delayed.stdout).toMatch(/DUE/);
    expect(delayed.stdout).toMatch(/shipping\.shipped .* pending .* 2099-01-01T00:00:00\.000Z/);
    const dead = json.find((r) => r.status === 'dead')!;
    expect(
      JSON.parse((await herald('outbox', 'list', '--before', '2000-01-01T00:00:00Z', '--json')).stdout),
    ).toEqual([]);
    await expect(herald('outbox', 'list', '--before', 'yesterday-ish')).rejects.toMatchObject({
      stderr: expect.stringContaining('is not a date'),
    });

    const show = JSON.parse((await herald('outbox', 'show', dead.id)).stdout) as {
      body: string;
      lastError: string;
    };
    expect(JSON.parse(show.body)).toEqual({ parcel: 'p-1' });
    // Each CLI run loads the config afresh, so changes are checked on the command's own output.
    expect((await herald('outbox', 'requeue', dead.id)).stdout).toContain('re-queued 1 record(s)');
    expect((await herald('outbox', 'purge', dead.id)).stdout).toContain('purged 1 record(s)');
    await expect(herald('inbox', 'requeue', dead.id)).rejects.toMatchObject({
      stderr: expect.stringContaining('--handler'),
    });
    await expect(
      run(process.execPath, [cli, 'outbox', 'list', '--config', '/nonexistent.mjs']),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('No config found'),
    });
  });
});
