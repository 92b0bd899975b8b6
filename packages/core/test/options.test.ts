import { describe, expect, it } from 'vitest';
import { ConfigurationError, createIntegrationEventBus, defaultOptions, silentLogger } from '../src/index.js';

describe('options', () => {
  it("uses MASA's defaults", () => {
    const options = defaultOptions();
    expect(options).toMatchObject({
      localRetryTimes: 3,
      maxRetryTimes: 10,
      localFailedRetryInterval: 3000,
      failedRetryInterval: 60000,
      minimumRetryInterval: 60000,
      retryBatchSize: 100,
      cleaningExpireInterval: 300000,
      publishedExpireTime: 24 * 3600 * 1000,
      deleteBatchCount: 1000,
    });
  });

  it('rejects invalid values with a clear message at build()', () => {
    const build = (options: object) =>
      createIntegrationEventBus({ service: 'svc', logger: silentLogger }).configure(options).build();
    expect(() => build({ maxRetryTimes: -1 })).toThrow(ConfigurationError);
    expect(() => build({ maxRetryTimes: 1.5 })).toThrow(/maxRetryTimes/);
    expect(() => build({ failedRetryInterval: 'soon' })).toThrow(/failedRetryInterval/);
    expect(() => build({ maxRetryTime: 3 })).toThrow(/Unknown option "maxRetryTime"/);
    expect(() => build({ localRetryTimes: 5, localFailedRetryInterval: 20_000 })).toThrow(
      /minimumRetryInterval/,
    );
  });

  it('refuses cleaningLocalQueueExpireInterval with an error that says why and what to do', () => {
    const build = (options: object) =>
      createIntegrationEventBus({ service: 'svc', logger: silentLogger }).configure(options).build();
    expect(() => build({ cleaningLocalQueueExpireInterval: 60_000 })).toThrow(ConfigurationError);
    expect(() => build({ cleaningLocalQueueExpireInterval: 60_000 })).toThrow(
      /no such queue.*cleaningExpireInterval.*Remove the option/s,
    );
    expect(Object.keys(defaultOptions())).not.toContain('cleaningLocalQueueExpireInterval');
  });

  it('takes an inbox retention apart from the outbox one (null: the same)', () => {
    const build = (options: object) =>
      createIntegrationEventBus({ service: 'svc', logger: silentLogger }).configure(options).build();
    expect(defaultOptions().processedInboxExpireTime).toBeNull();
    expect(build({ processedInboxExpireTime: 2 * 3600_000 }).options.processedInboxExpireTime).toBe(
      7_200_000,
    );
    expect(() => build({ processedInboxExpireTime: -1 })).toThrow(/processedInboxExpireTime/);
    expect(() => build({ processedInboxExpireTime: '2h' })).toThrow(/processedInboxExpireTime/);
  });

  it('accepts a mutating callback like MASA', () => {
    const bus = createIntegrationEventBus({ service: 'svc', logger: silentLogger })
      .configure((o) => {
        o.maxRetryTimes = 5;
      })
      .build();
    expect(bus.options.maxRetryTimes).toBe(5);
  });

  it('validates the service name', () => {
    expect(() => createIntegrationEventBus({ service: '' })).toThrow(ConfigurationError);
    expect(() => createIntegrationEventBus({ service: 'has space' })).toThrow(ConfigurationError);
  });
});
