import { busScenarios, runBusScenario } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import broken from './bus-scenarios/postgresql-rabbit-forgetful-inbox.js';
import { scenarioPairRun } from './helpers.js';

// The crash scenarios can fail: on PostgreSQL + RabbitMQ with an inbox that does not
// deduplicate, the redeliveries they provoke write effects twice. (bus-scenarios.test.ts
// runs the same scenarios on the unbroken pair; testkit's broken-bus-pairs.test.ts covers
// the scenarios that need no crash.)
const modulePath = new URL('./bus-scenarios/postgresql-rabbit-forgetful-inbox.ts', import.meta.url);
const run = scenarioPairRun(broken, 'b', ['c01', 'c02']);
const { runId } = run;
beforeAll(run.setUp, 60_000);
afterAll(run.tearDown, 60_000);

describe('the crash scenarios fail on a pair whose inbox does not deduplicate', () => {
  for (const [index, fragment] of ['a relay SIGKILLed', 'a consumer SIGKILLed'].entries()) {
    it(fragment, async () => {
      const scenario = busScenarios.find((candidate) => candidate.name.includes(fragment))!;
      await expect(
        runBusScenario(
          scenario,
          { pair: broken, modulePath, timeoutMs: 15_000 },
          { settings: run.settings(), scope: { runId, caseId: `c0${index + 1}` } },
        ),
      ).rejects.toThrow('more than once');
    }, 90_000);
  }
});
