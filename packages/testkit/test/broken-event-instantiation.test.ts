import { describe, expect, it, vi } from 'vitest';
import { busScenarios, runBusScenario } from '../src/index.js';
import memoryPair from './helpers/memory-pair.js';

/**
 * The `__proto__` scenario fails on a bus whose received events are rebuilt
 * with `Object.assign` (the defect core's `instantiate` once had: assigning a
 * JSON-parsed own `__proto__` key runs the prototype setter and swaps the
 * event's prototype for attacker data). Core has no public seam there, and
 * should not grow one for a test: this file replaces `instantiate` in core's
 * own module for this file only (`vi.mock` is file-scoped), leaving the rest of core as built.
 */
vi.mock(import('../../core/dist/event.js'), async (importOriginal) => {
  const original = await importOriginal();
  return {
    ...original,
    instantiate: <T>(type: { prototype: object }, payload: unknown): T =>
      Object.assign(Object.create(type.prototype) as object, payload) as T,
  };
});

async function runProtoScenario(): Promise<void> {
  const scenario = busScenarios.find((candidate) => candidate.name.includes('`__proto__` payload'))!;
  const runId = 'brokenproto';
  const settings = (await memoryPair.setup?.(runId)) ?? {};
  try {
    await runBusScenario(
      scenario,
      { pair: memoryPair, timeoutMs: 8_000, quietMs: 300 },
      { settings, scope: { runId, caseId: 'c01' } },
    );
  } finally {
    await memoryPair.teardown?.(settings, []);
  }
}

describe('the `__proto__` scenario fails on a bus that instantiates events with Object.assign', () => {
  it('the swapped prototype is seen by the handler and the scenario rejects', async () => {
    // The seam took: core's decode path now uses the broken instantiation.
    const { instantiate } = await import('../../core/dist/event.js');
    class Probe {}
    const probe = instantiate(Probe as never, JSON.parse('{"__proto__":{"isAdmin":true}}')) as object;
    expect(Object.getPrototypeOf(probe)).not.toBe(Probe.prototype);

    await expect(runProtoScenario()).rejects.toThrow('swapped prototype');
  });
});
