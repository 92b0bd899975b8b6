import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = resolve(import.meta.dirname, '../dist/cli.js');
const moduleUrl = (path: string) => pathToFileURL(resolve(import.meta.dirname, '../node_modules', path)).href;
const core = moduleUrl('@herald/core/dist/index.js');
const zod = moduleUrl('zod/index.js');

/** A config module exporting a builder: `service` publishes or handles ordering.order-placed with `total` of `totalType`. */
function writeConfig(
  dir: string,
  name: string,
  role: 'publishes' | 'handles',
  totalType: 'number' | 'string',
): string {
  const file = join(dir, `${name}.config.mjs`);
  const service = role === 'publishes' ? 'ordering' : 'notification';
  writeFileSync(
    file,
    `import { createIntegrationEventBus, defineEvent, silentLogger } from '${core}';
import { z } from '${zod}';
const OrderPlaced = defineEvent('ordering.order-placed', {
  schema: z.object({ orderId: z.string(), total: z.${totalType}() }),
});
const builder = createIntegrationEventBus({ service: '${service}', logger: silentLogger });
export default ${role === 'publishes' ? 'builder.publishes(OrderPlaced)' : "builder.handle(OrderPlaced, () => {}, { name: 'notification.mail' })"};
`,
  );
  return file;
}

describe('herald contracts', () => {
  it('exports the contract, passes an unchanged check and fails a breaking change with a report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-contracts-'));
    const herald = (config: string, ...args: string[]) =>
      run(process.execPath, [cli, 'contracts', ...args, '--config', config]);
    const ordering = writeConfig(dir, 'ordering', 'publishes', 'number');
    const snapshot = join(dir, 'contracts', 'ordering.asyncapi.json');
    expect((await herald(ordering, 'export', '--out', snapshot, '--version', '1.4.0')).stdout).toContain(
      `wrote the contract of ordering to ${snapshot}`,
    );
    const written = JSON.parse(readFileSync(snapshot, 'utf8'));
    expect(written).toMatchObject({
      asyncapi: '3.0.0',
      info: { version: '1.4.0', 'x-herald-service': 'ordering' },
    });
    const stdout = JSON.parse((await herald(ordering, 'export')).stdout);
    expect(stdout.channels).toEqual(written.channels);

    const notification = writeConfig(dir, 'notification', 'handles', 'number');
    await herald(notification, 'export', '--out', join(dir, 'contracts', 'notification.asyncapi.json'));

    const unchanged = await herald(
      ordering,
      'check',
      '--snapshot',
      snapshot,
      '--peer',
      join(dir, 'contracts'),
    );
    expect(unchanged.stdout).toContain('contracts of ordering: no breaking change');

    const changed = writeConfig(dir, 'ordering-changed', 'publishes', 'string');
    const failure = await herald(
      changed,
      'check',
      '--snapshot',
      snapshot,
      '--peer',
      join(dir, 'contracts'),
    ).then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toContain('contracts of ordering: 1 breaking change');
    expect(failure?.stdout).toMatch(
      /BREAKING field-retyped +ordering\.order-placed \[notification\]: total: string is sent; notification accepts number/,
    );

    await expect(herald(ordering, 'check', '--snapshot', join(dir, 'missing.json'))).rejects.toMatchObject({
      stderr: expect.stringContaining('herald contracts export --out'),
    });
  });
});
