import { busScenarios, runBusScenario } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import broken from './bus-scenarios/postgresql-rabbit-forgetful-inbox.js';
import { requireRabbit, unique } from './helpers.js';

// The crash scenarios can fail: on PostgreSQL + RabbitMQ with an inbox that does not
// deduplicate, the redeliveries they provoke write effects twice. (bus-scenarios.test.ts
// runs the same scenarios on the unbroken pair; testkit's broken-bus-pairs.test.ts covers
// the scenarios that need no crash.)
const modulePath = new URL('./bus-scenarios/postgresql-rabbit-forgetful-inbox.ts', import.meta.url);
const runId = unique('b').replace('-', '').slice(0, 9);
let settings: Record<string, string> | undefined;

beforeAll(async () => {
  await requireRabbit();
  settings = await broken.setup!(runId);
}, 60_000);
afterAll(async () => {
  if (settings)
    await broken.teardown!(
      settings,
      ['c01', 'c02'].map((caseId) => `scenario-${runId}-${caseId}`),
    );
});

describe('the crash scenarios fail on a pair whose inbox does not deduplicate', () => {
  for (const [index, fragment] of ['a relay SIGKILLed', 'a consumer SIGKILLed'].entries()) {
    it(fragment, async () => {
      const scenario = busScenarios.find((candidate) => candidate.name.includes(fragment))!;
      await expect(
        runBusScenario(
          scenario,
          { pair: broken, modulePath, timeoutMs: 15_000 },
          { settings: settings!, scope: { runId, caseId: `c0${index + 1}` } },
        ),
      ).rejects.toThrow('more than once');
    }, 90_000);
  }
});
