import { CommunicationProtocolEnum, DaprClient } from '@dapr/dapr';
import { describeTransportConformance } from '@herald/testkit';
import { afterAll, beforeAll, it } from 'vitest';
import type { DaprTransport } from '../src/index.js';
import { componentsDir, freePort, groupCycler, Sidecar, TestRedis, testTransport } from './helpers.js';
import { expectHostileMessagesDeadLettered } from './hostile-messages.js';

// subscription: 'app-callback' on pubsub.redis: each transport serves programmatic subscriptions
// on an app port of its own, and gets a daprd of its own started with --app-port (one sidecar per
// app process, as in production); the transport's stop() also stops that sidecar.
const redis = new TestRedis();
let components: ReturnType<typeof componentsDir>;
const sidecars = new Set<Sidecar>();

beforeAll(async () => {
  await redis.start();
  components = componentsDir({ redisPort: redis.port });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([...sidecars].map((sidecar) => sidecar.stop()));
  await redis.stop();
  components?.cleanup();
});

/** A transport in app-callback mode on a fresh sidecar that calls it; stop() ends both. */
async function appCallbackTransport(
  overrides: Parameters<typeof testTransport>[2] = {},
): Promise<DaprTransport> {
  let appPort = await freePort();
  let sidecar = new Sidecar(components.dir, undefined, appPort);
  sidecars.add(sidecar);
  try {
    await sidecar.start();
  } catch {
    // A free port taken in between by another sidecar of this file: once more on other ports.
    sidecars.delete(sidecar);
    appPort = await freePort();
    sidecar = new Sidecar(components.dir, undefined, appPort);
    sidecars.add(sidecar);
    await sidecar.start();
  }
  const transport = testTransport(sidecar, 'redis', { subscription: 'app-callback', appPort, ...overrides });
  const stop = transport.stop.bind(transport);
  return Object.assign(transport, {
    stop: async () => {
      try {
        await stop();
      } finally {
        await sidecar.stop();
        sidecars.delete(sidecar);
      }
    },
  });
}

describeTransportConformance({
  name: 'dapr app-callback (pubsub.redis, Redis Streams)',
  create: () => appCallbackTransport(),
  uniqueGroup: groupCycler(),
  timeoutMs: 20_000,
});

it('app-callback: header-less, malformed and hostile messages from a plain Dapr client dead-letter with the reason', async () => {
  const transport = await appCallbackTransport({ groupPubsubFor: () => 'redis-ge' });
  const plain = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(transport.sidecar.split(':')[1]),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: 0 },
  });
  try {
    await expectHostileMessagesDeadLettered(transport, plain, 'redis-pubsub');
  } finally {
    await transport.stop();
    await plain.stop();
  }
}, 90_000);
