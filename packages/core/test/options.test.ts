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
      cleaningLocalQueueExpireInterval: 60000,
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
