import type { Transport } from '@herald/core';
import { busScenarios, runBusScenario } from '@herald/testkit';
import type { BusPair } from '@herald/testkit/bus-pair';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pair from './bus-scenarios/postgresql-rabbit.js';
import { canRestart, scenarioPairRun } from './helpers.js';

// The broker-restart scenario can fail: on PostgreSQL + RabbitMQ with a transport that does not
// wait for the broker (while it is not connected it reports what it was handed as sent and drops
// it, as a publisher without confirms would), the steps the relay sends during the restart are
// lost. bus-scenarios.test.ts runs the same scenario on the unbroken pair; the broker is
// restarted the same way, through tooling/services/rabbitmq.sh.

/** The transport with `publish` dropping messages whenever the broker is not reachable. */
function fireAndForget(inner: Transport): Transport {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'publish') {
        return async (messages: Parameters<Transport['publish']>[0]) => {
          if ((await target.health!()).connected) return target.publish(messages);
          return messages.map((message) => ({ id: message.id, ok: true as const }));
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const broken: BusPair = {
  ...pair,
  name: `${pair.name} (a publisher that drops while the broker is down)`,
  async createTransport(settings, replica) {
    return fireAndForget(await pair.createTransport(settings, replica));
  },
};

const run = scenarioPairRun(broken, 'r', ['c01']);
const { runId } = run;
beforeAll(run.setUp, 60_000);
afterAll(run.tearDown, 60_000);

describe('the broker-restart scenario fails on a pair that loses sends while the broker is down', () => {
  it('a broker restart mid-stream', async (context) => {
    if (!canRestart) context.skip('tooling/services/rabbitmq.sh is missing: the broker cannot be restarted');
    const scenario = busScenarios.find((candidate) =>
      candidate.name.includes('a broker restart mid-stream'),
    )!;
    await expect(
      runBusScenario(
        scenario,
        { pair: broken, timeoutMs: 5_000 },
        { settings: run.settings(), scope: { runId, caseId: 'c01' } },
      ),
    ).rejects.toThrow(/Timed out after \d+ ms: every one of \d+ steps has an effect/);
  }, 180_000);
});
