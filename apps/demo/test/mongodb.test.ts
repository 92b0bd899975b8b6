import { parseConfig } from '@herald/demo-kit';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/main.js';
import { runCli } from './run-cli.js';

// `--db mongodb` against the local FerretDB (HERALD_MONGO_URL, default mongodb://127.0.0.1:27017/),
// with the event logs on `transactions: 'off'`. Needs the engines:
//   bash tooling/services/up.sh ferretdb rabbitmq
// The demo fails with that command when one is not reachable — these tests never skip.

describe('demo on MongoDB (FerretDB, no transactions)', () => {
  it('in-process transport: the ledger holds, the run says what is not atomic', {
    timeout: 60_000,
  }, async () => {
    const lines: string[] = [];
    const config = parseConfig([
      '--db',
      'mongodb',
      '--products',
      '8',
      '--orders',
      '40',
      '--namespace',
      'demo_test',
    ]);
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
      unpublished: 0,
      problems: [],
    });
    expect(ledger.deadLetterReason).toContain('SMS gateway: no account configured');
    expect(lines).toContainEqual(expect.stringMatching(/transactions: 'off' .* NOT atomic/));
    expect(lines).toContain('› notification sent exactly one mail for each of the 40 orders');
  });

  it('rabbitmq, 3 processes: the ledger holds while ordering is SIGKILLed and restarted mid-run', {
    timeout: 90_000,
  }, async () => {
    const run = await runCli(
      [
        '--transport=rabbitmq',
        '--db=mongodb',
        '--kill=ordering',
        '--products=10',
        '--orders=100',
        '--namespace=e2e_mongo',
        '--timeout=45',
      ],
      85_000,
    );
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.code, output).toBe(0);
    expect(run.lines).toContainEqual(expect.stringMatching(/^› killed ordering \(SIGKILL\)/));
    expect(run.lines).toContainEqual(expect.stringMatching(/^› ordering is running again/));
    expect(run.lines).toContainEqual(expect.stringMatching(/started as 3 processes \(rabbitmq;/));
    expect(run.lines).toContain('› catalog counted 199 units sold, as ordered');
    expect(run.lines).toContain('› notification sent exactly one mail for each of the 100 orders');
    expect(run.lines).toContainEqual(expect.stringMatching(/^dead-lettered=10 of 10 as designed/));
    // 10 created + 10 updated + 2 deleted + 100 orders.
    expect(run.ledger, output).toEqual({ ok: true, published: 122, handled: 122, duplicates: 0, lost: 0 });
  });
});
