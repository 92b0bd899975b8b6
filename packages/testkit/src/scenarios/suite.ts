import { afterAll, beforeAll, describe, it } from 'vitest';
import { uniqueSuffix } from '../internal/random.js';
import { CaseSkipped, type ConformanceCase } from '../suites/case.js';
import { busScenarios } from './cases.js';
import { type BusScenarioContext, createScenarioContext, slowdownOf } from './context.js';
import type { BusPair } from './pair.js';
import { type ScenarioScope, scenarioService } from './scenario-events.js';

/** Options of {@link describeBusScenarios} and {@link runBusScenario}. */
export interface BusScenarioOptions {
  /** The store × transport pair under test. */
  readonly pair: BusPair;
  /**
   * Path or `file:` URL of a module whose `default` export is `pair`; child
   * processes import it to build the same bus. Without it the crash
   * scenarios are reported as skipped. `.ts` modules are loaded with `tsx`.
   */
  readonly modulePath?: string | URL;
  /** Upper bound for every wait in a scenario; default 20 s, multiplied by the pair's `slowdown`. */
  readonly timeoutMs?: number;
  /** How long to watch for unwanted (re)deliveries; default 500 ms. */
  readonly quietMs?: number;
  /** Only the scenarios whose name contains one of these fragments (e.g. to split a slow pair over files). */
  readonly only?: readonly string[];
  /**
   * Scenarios to report as skipped, by a fragment of their name, with the
   * reason (e.g. an engine too slow for the file's time bound). Shown in the
   * run, never silently dropped.
   */
  readonly skip?: Readonly<Record<string, string>>;
}

/** One case's place in a suite run. */
export interface BusScenarioRun {
  /** What the pair's `setup` returned for this suite run (`{}` without `setup`). */
  readonly settings: Record<string, string>;
  /** The run and case ids that make this case's names unique. */
  readonly scope: ScenarioScope;
}

/** Runs one scenario against the pair, stopping every replica and child afterwards. */
export async function runBusScenario(
  scenario: ConformanceCase<BusScenarioContext>,
  options: BusScenarioOptions,
  run: BusScenarioRun,
): Promise<void> {
  const { context, cleanup } = await createScenarioContext({
    pair: options.pair,
    modulePath: options.modulePath === undefined ? undefined : String(options.modulePath),
    settings: run.settings,
    scope: run.scope,
    timeoutMs: (options.timeoutMs ?? 20_000) * slowdownOf(options.pair),
    quietMs: options.quietMs ?? 500,
  });
  try {
    await scenario.run(context);
  } finally {
    await cleanup();
  }
}

/**
 * Registers the bus scenario suite with vitest: one `it` per scenario in
 * {@link busScenarios}, each with its own event name and consumer group, so
 * the suite can share a broker and a database with other tests. A scenario
 * that needs a feature the pair lacks is reported as skipped with the reason.
 *
 * ```ts
 * // test/bus-scenarios.test.ts
 * import pair from './scenario-pair.js';
 * describeBusScenarios({ pair, modulePath: new URL('./scenario-pair.ts', import.meta.url) });
 * ```
 */
export function describeBusScenarios(options: BusScenarioOptions): void {
  const { pair } = options;
  const runId = uniqueSuffix().slice(0, 8);
  const scenarios = busScenarios.filter(
    (scenario) => !options.only || options.only.some((fragment) => scenario.name.includes(fragment)),
  );
  const scopes = scenarios.map((_, index) => ({ runId, caseId: `c${String(index + 1).padStart(2, '0')}` }));
  let settings: Record<string, string> | undefined;
  const timeoutMs = (options.timeoutMs ?? 20_000) * slowdownOf(pair);

  describe(`Bus scenarios: ${pair.name}`, () => {
    beforeAll(async () => {
      settings = (await pair.setup?.(runId)) ?? {};
    }, 120_000);
    afterAll(async () => {
      if (settings) await pair.teardown?.(settings, scopes.map(scenarioService));
    }, 60_000);
    scenarios.forEach((scenario, index) => {
      it(
        scenario.name,
        async (context) => {
          const skipped = Object.entries(options.skip ?? {}).find(([fragment]) =>
            scenario.name.includes(fragment),
          );
          if (skipped) context.skip(skipped[1]);
          try {
            await runBusScenario(scenario, options, { settings: settings!, scope: scopes[index]! });
          } catch (error) {
            if (error instanceof CaseSkipped) context.skip(error.reason);
            throw error;
          }
        },
        timeoutMs * 6 + 10_000,
      );
    });
  });
}
