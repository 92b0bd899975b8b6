import { InProcessBroker, InProcessTransport } from '@herald/core';
import { beforeEach } from 'vitest';
import { describeTransportConformance } from '../src/index.js';

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
});
