import {
  InProcessBroker,
  InProcessTransport,
  isMemoryTransaction,
  memoryEventLog,
  uuidv7,
} from '@herald/core';
import type { BusPair, ScenarioEffect, ScenarioStore } from '../../src/index.js';

/**
 * The pair core ships: in-memory outbox and inbox, in-process transport.
 * Replicas of one run share the event log and the broker (they live in the
 * test process), so nothing here survives a process: `crashes` is false.
 */
const runs = new Map<string, { log: ReturnType<typeof memoryEventLog>; broker: InProcessBroker }>();

function runOf(settings: Record<string, string>) {
  const runId = settings.runId!;
  let run = runs.get(runId);
  if (!run) {
    run = { log: memoryEventLog(), broker: new InProcessBroker() };
    runs.set(runId, run);
  }
  return run;
}

const EFFECTS = 'scenario_effect';

const memoryPair: BusPair = {
  name: 'memory + in-process',
  features: {
    crashes: false,
    brokerRestart: false,
    orderedByKey: true,
    transactionalOutbox: true,
    transactionalInbox: true,
  },
  async setup(runId) {
    return { runId };
  },
  async teardown(settings) {
    runs.delete(settings.runId!);
  },
  async createStore(settings): Promise<ScenarioStore> {
    const { log } = runOf(settings);
    return {
      eventLog: log,
      transaction: (work) => log.database.transaction(work),
      async recordEffect(tx, effect) {
        if (!isMemoryTransaction(tx)) throw new Error('memory pair: ctx.tx is not a memory transaction');
        tx.put(EFFECTS, uuidv7(), effect);
      },
      async effects() {
        return log.database.all<ScenarioEffect>(EFFECTS);
      },
      async close() {},
    };
  },
  async createTransport(settings) {
    return new InProcessTransport({ broker: runOf(settings).broker });
  },
};

export default memoryPair;
