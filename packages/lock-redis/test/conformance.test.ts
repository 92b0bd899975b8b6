import { describeLockConformance } from '@herald/testkit';
import { beforeAll } from 'vitest';
import { redisLock } from '../src/index.js';
import { redisUrls, requireRedis } from './helpers.js';

const single = redisUrls(1);
const three = redisUrls(3);

beforeAll(() => requireRedis(three));

describeLockConformance({
  name: 'Redis, one node',
  create: async () => redisLock({ urls: single, keyPrefix: 'conformance:' }),
});

describeLockConformance({
  name: 'Redlock, three independent nodes',
  create: async () => redisLock({ urls: three, keyPrefix: 'conformance:' }),
});
