import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// The services as three separate processes on a real broker and PostgreSQL (one database per
// service), with one service SIGKILLed mid-run and started again. Needs the engines:
//   bash tooling/services/up.sh postgres rabbitmq kafka redis dapr
// (HERALD_PG_URL, HERALD_RABBITMQ_URL, HERALD_KAFKA_BROKERS); the demo fails with that command
// when one is not reachable — these tests never skip.

const PRODUCTS = 20;
const ORDERS = 160;
/** created + updated per product, 2 deleted, one OrderPlaced per order. */
const HEALTHY = 2 * PRODUCTS + 2 + ORDERS;
const POISON = ORDERS / 10;

const cases = [
  { transport: 'rabbitmq', kill: 'ordering' },
  { transport: 'kafka', kill: 'notification' },
  // A daprd sidecar per service (tooling/services/dapr.sh builds it), Redis Streams behind them.
  { transport: 'dapr', kill: 'ordering' },
] as const;

describe('demo as separate processes on PostgreSQL', () => {
  for (const { transport, kill } of cases) {
    it(`${transport}: ledger holds while ${kill} is SIGKILLed and restarted mid-run`, {
      timeout: 110_000,
    }, async () => {
      const run = await runCli(
        [
          `--transport=${transport}`,
          '--db=postgres',
          `--kill=${kill}`,
          `--products=${PRODUCTS}`,
          `--orders=${ORDERS}`,
          `--namespace=e2e_${transport}`,
          '--timeout=60',
        ],
        100_000,
      );
      const output = `${run.stdout}\n${run.stderr}`;
      expect(run.code, output).toBe(0);
      expect(run.lines).toContainEqual(expect.stringMatching(new RegExp(`^› killed ${kill} \\(SIGKILL\\)`)));
      expect(run.lines).toContainEqual(expect.stringMatching(new RegExp(`^› ${kill} is running again`)));
      expect(run.lines).toContainEqual(expect.stringMatching(/started as 3 processes/));
      expect(run.lines).toContain(`› notification sent exactly one mail for each of the ${ORDERS} orders`);
      expect(run.lines).toContainEqual(
        expect.stringMatching(/^› every mail handler ran in its order's tenant \(/),
      );
      expect(run.lines).toContainEqual(
        expect.stringMatching(new RegExp(`^dead-lettered=${POISON} of ${POISON} as designed`)),
      );
      expect(run.ledger, output).toEqual({
        ok: true,
        published: HEALTHY,
        handled: HEALTHY,
        duplicates: 0,
        lost: 0,
      });
    });
  }
});
