import { ConfigurationError } from '@herald/core';
import { capturingLogger, failureText } from '@herald/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { redisLock } from '../src/index.js';
import { redisUrls, requireRedis } from './helpers.js';

const SECRET = 'r3dis-Wr0ng-pa55';

describe('credentials in Redis urls never reach an error or a log', () => {
  it('a mistyped url (port 99999) is a configuration error at factory time, without the password', () => {
    let thrown: unknown;
    try {
      redisLock({ urls: [`redis://default:${SECRET}@127.0.0.1:99999`] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect((thrown as Error).message).toMatch(/urls\[0\] has an invalid port "99999"/);
    expect(failureText(thrown)).not.toContain(SECRET);
  });

  describe('with real servers', () => {
    const urls = redisUrls(1);
    beforeAll(() => requireRedis(urls));

    // The test servers run without AUTH (any password is accepted), so the failing node is one
    // that does not answer, next to a live one: its connection errors are logged with its url.
    it('a node that does not answer fails acquire with clean errors and clean logs', async () => {
      const logger = capturingLogger();
      const live = new URL(urls[0]!);
      live.username = 'default';
      live.password = SECRET;
      const dead = `redis://default:${SECRET}@127.0.0.1:1`;
      const lock = redisLock({ urls: [live.toString(), dead], logger, operationTimeoutMs: 300 });
      try {
        const outcome = await lock.acquire('secrets-test', 1_000).then(
          (lease) => ({ lease }),
          (error: unknown) => ({ error }),
        );
        expect('lease' in outcome ? outcome.lease : null).toBeNull();
        expect(failureText('error' in outcome ? outcome.error : undefined, logger.text())).not.toContain(
          SECRET,
        );
        expect(logger.lines.length).toBeGreaterThan(0);
      } finally {
        await lock.close?.();
      }
      expect(logger.text()).not.toContain(SECRET);
    });
  });
});
