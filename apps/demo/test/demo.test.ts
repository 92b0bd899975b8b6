import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { runDemo } from '../src/main.js';

describe('demo (in-process transport, SQLite)', () => {
  it('handles every committed event exactly once per subscriber', async () => {
    const lines: string[] = [];
    const config = parseConfig(['--products', '8', '--orders', '40', '--namespace', 'demo_test']);
    const { ledger, ok } = await runDemo(config, (line) => lines.push(line));
    expect(ok, lines.join('\n')).toBe(true);
    // 8 created + 8 updated + 2 deleted + 40 OrderPlaced; 4 SmsRequested are the poison events.
    expect(ledger).toMatchObject({
      published: 58,
      handled: 58,
      duplicates: 0,
      lost: 0,
      poison: 4,
      deadLettered: 4,
    });
    expect(ledger.deadLetterReason).toContain('SMS gateway: no account configured');
  });
});
