import { parseConfig } from '@herald/demo-kit';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/main.js';
import { runCli } from './run-cli.js';

describe('demo on the embedded default (in-process transport, SQLite)', () => {
  it('`node dist/main.js` ends with the ledger line, with the default workload', {
    timeout: 90_000,
  }, async () => {
    const run = await runCli([], 85_000);
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.code, output).toBe(0);
    // 20 products created and updated, 2 deleted, 100 orders; the 10 SMS requests are dead letters.
    expect(run.lines.at(-1)).toBe('demo ok: published=142 handled=142 duplicates=0 lost=0');
    expect(run.lines.at(-2)).toMatch(/^dead-lettered=10 of 10 as designed /);
    expect(run.lines).toContainEqual(
      expect.stringMatching(/^› monitoring \(bus\.on\): sent=152 received=242 /),
    );
    expect(run.stderr).toBe('');
  });

  it('every committed event is handled once per subscriber; poison events end in the dead letters', async () => {
    const lines: string[] = [];
    const config = parseConfig(['--products', '8', '--orders', '40', '--namespace', 'demo_test']);
    const { ledger, monitor, ok } = await runDemo(config, (line) => lines.push(line));
    expect(ok, lines.join('\n')).toBe(true);
    // 8 created + 8 updated + 2 deleted + 40 OrderPlaced; 4 SmsRequested are the poison events.
    expect(ledger).toMatchObject({
      published: 58,
      handled: 58,
      duplicates: 0,
      lost: 0,
      poison: 4,
      deadLettered: 4,
      unpublished: 0,
      problems: [],
    });
    expect(ledger.deadLetterReason).toContain('SMS gateway: no account configured');
    // 1 + 1 local retry + 2 persistent retries, all failed.
    expect(ledger.deadLetterAttempts).toBe(3);
    // Monitoring agrees: every record sent once; handlers: 18 entity events + 2 × 40 orders.
    expect(monitor).toMatchObject({ sent: 62, received: 98, deadLettered: 4, duplicates: 0 });
  });

  it('runs on MariaDB (in-process transport, one database per service)', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const config = parseConfig([
      '--db',
      'mariadb',
      '--products',
      '5',
      '--orders',
      '20',
      '--namespace',
      'demo_test',
    ]);
    const { ledger, ok } = await runDemo(config, (line) => lines.push(line));
    expect(ok, lines.join('\n')).toBe(true);
    expect(ledger).toMatchObject({
      published: 32,
      handled: 32,
      duplicates: 0,
      lost: 0,
      poison: 2,
      deadLettered: 2,
    });
  });
});
