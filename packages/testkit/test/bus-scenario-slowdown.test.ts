import { ConfigurationError } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { type BusScenarioContext, type ConformanceCase, runBusScenario } from '../src/index.js';
import memoryPair from './helpers/memory-pair.js';

/** A scenario that only records the bounds it was given. */
function probe(seen: { timeoutMs?: number; slowdown?: number }): ConformanceCase<BusScenarioContext> {
  return {
    name: 'probe',
    async run(ctx) {
      seen.timeoutMs = ctx.timeoutMs;
      seen.slowdown = ctx.slowdown;
    },
  };
}

const run = { settings: { runId: 'slowdown' }, scope: { runId: 'slowdown', caseId: 'c01' } };

describe("a pair's slowdown", () => {
  it('multiplies the bound of every wait and reaches the scenario', async () => {
    const seen: { timeoutMs?: number; slowdown?: number } = {};
    await runBusScenario(probe(seen), { pair: { ...memoryPair, slowdown: 2.5 }, timeoutMs: 4_000 }, run);
    expect(seen).toEqual({ timeoutMs: 10_000, slowdown: 2.5 });
    await runBusScenario(probe(seen), { pair: memoryPair, timeoutMs: 4_000 }, run);
    expect(seen, 'default: 1').toEqual({ timeoutMs: 4_000, slowdown: 1 });
  });

  it('must be a positive number', async () => {
    for (const slowdown of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(runBusScenario(probe({}), { pair: { ...memoryPair, slowdown } }, run)).rejects.toThrow(
        ConfigurationError,
      );
    }
  });
});
