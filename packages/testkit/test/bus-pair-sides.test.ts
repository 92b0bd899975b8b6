import { ConfigurationError } from '@herald/core';
import { describe, expect, it } from 'vitest';
import { composeBusPair, type ScenarioStoreSide, type ScenarioTransportSide } from '../src/bus-pair.js';

/** Sides that write what happens to them into `log`. */
function sides(log: string[], overrides: { transport?: Partial<ScenarioTransportSide> } = {}) {
  const store: ScenarioStoreSide = {
    name: 'Store',
    features: { transactionalOutbox: false, transactionalInbox: true },
    async setup(runId) {
      log.push(`store setup ${runId}`);
      return { database: `db-${runId}` };
    },
    async teardown(settings) {
      log.push(`store teardown ${settings.database}`);
    },
    createStore: () => Promise.reject(new Error('not used')),
  };
  const transport: ScenarioTransportSide = {
    name: 'Broker',
    features: { crashes: true, brokerRestart: false, orderedByKey: true },
    async setup(runId) {
      log.push(`transport setup ${runId}`);
      return { topicPrefix: `t-${runId}.` };
    },
    async teardown(settings, services) {
      log.push(`transport teardown ${settings.topicPrefix} ${services.join(',')}`);
    },
    createTransport: () => Promise.reject(new Error('not used')),
    ...overrides.transport,
  };
  return composeBusPair(store, transport);
}

describe('composeBusPair', () => {
  it('names the pair and takes each feature from the side that knows it', () => {
    const pair = sides([]);
    expect(pair.name).toBe('Store + Broker');
    expect(pair.features).toEqual({
      crashes: true,
      brokerRestart: false,
      orderedByKey: true,
      transactionalOutbox: false,
      transactionalInbox: true,
    });
    expect(pair.restartBroker).toBeUndefined();
  });

  it('sets up the store, then the transport, and tears down in reverse with both settings', async () => {
    const log: string[] = [];
    const pair = sides(log);
    const settings = await pair.setup!('r1');
    expect(settings).toEqual({ database: 'db-r1', topicPrefix: 't-r1.' });
    await pair.teardown!(settings, ['billing']);
    expect(log).toEqual([
      'store setup r1',
      'transport setup r1',
      'transport teardown t-r1. billing',
      'store teardown db-r1',
    ]);
  });

  it('drops the store when the transport setup fails, and says which settings clash', async () => {
    const failing: string[] = [];
    const broken = sides(failing, { transport: { setup: () => Promise.reject(new Error('broker down')) } });
    await expect(broken.setup!('r2')).rejects.toThrow('broker down');
    expect(failing).toEqual(['store setup r2', 'store teardown db-r2']);

    const clashing: string[] = [];
    const clash = sides(clashing, { transport: { setup: async () => ({ database: 'mine' }) } });
    const error = await clash.setup!('r3').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain('both sides set database');
    expect(clashing).toEqual(['store setup r3', 'store teardown db-r3']);
  });

  it('tears the store down even when the transport teardown fails', async () => {
    const log: string[] = [];
    const pair = sides(log, { transport: { teardown: () => Promise.reject(new Error('broker gone')) } });
    await expect(pair.teardown!({ database: 'db-r4' }, [])).rejects.toThrow('broker gone');
    expect(log).toEqual(['store teardown db-r4']);
  });
});
