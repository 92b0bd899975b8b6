import { InProcessBroker, InProcessTransport } from '@herald/core';
import { beforeEach, expect, it } from 'vitest';
import { describeTransportConformance, runTransportCase, transportCases } from '../src/index.js';

// One fresh broker per test; every transport a case creates shares it (replicas of one broker).
let broker = new InProcessBroker();
beforeEach(() => {
  broker = new InProcessBroker();
});

describeTransportConformance({
  name: 'in-process',
  create: async () => new InProcessTransport({ broker }),
  // The in-process broker lives in this process; "restarting" it is a no-op, which still
  // exercises the reconnect half of the restart case.
  restart: async () => undefined,
  // Known gap in core's InProcessBroker: a 'retry' is re-enqueued at the tail of its key's
  // chain, so later messages of the key overtake it (see README, "Known gaps in core").
  retryKeepsKeyOrder: false,
});

it('known core gap: the in-process broker lets later messages of a key overtake a retried one', async () => {
  // When core fixes this, this test fails: then drop `retryKeepsKeyOrder: false` above and this test.
  const strict = transportCases.find((testCase) => testCase.name.includes('holds back the later messages'))!;
  await expect(
    runTransportCase(strict, { create: async () => new InProcessTransport({ broker }) }),
  ).rejects.toThrow(/overtook the retried one/);
});
