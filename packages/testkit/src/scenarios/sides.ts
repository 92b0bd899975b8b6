import { ConfigurationError, type DistributedLock, type Transport } from '@herald/core';
import type { BusFeatures, BusPair, ForeignMessage, ScenarioStore } from './pair.js';

/**
 * The database half of a {@link BusPair}: what differs between PostgreSQL,
 * MariaDB, SQLite or MongoDB, whichever broker it is paired with.
 */
export interface ScenarioStoreSide {
  /** Shown first in the pair's name, e.g. `Prisma PostgreSQL`. */
  readonly name: string;
  /** What the store promises about transactions. */
  readonly features: Pick<BusFeatures, 'transactionalOutbox' | 'transactionalInbox'>;
  /** Once per suite: creates the run's database (migrated, with the effect table); returns its settings. */
  setup(runId: string): Promise<Record<string, string>>;
  /** Once after the suite: drops what `setup` made. */
  teardown(settings: Record<string, string>): Promise<void>;
  /** A store for one bus (see {@link BusPair.createStore}). */
  createStore(settings: Record<string, string>): Promise<ScenarioStore>;
}

/**
 * The broker half of a {@link BusPair}: the transport factory and what only the
 * broker knows (topics or exchanges of the run, foreign publishes, restarts).
 */
export interface ScenarioTransportSide {
  /** Shown second in the pair's name, e.g. `Kafka`. */
  readonly name: string;
  /** What the broker (and the way the test drives it) allows. */
  readonly features: Pick<BusFeatures, 'crashes' | 'brokerRestart' | 'orderedByKey'>;
  /** Once per suite, after the store's setup: the run's exchange, topic prefix… */
  setup?(runId: string): Promise<Record<string, string>>;
  /** Once after the suite, before the store's teardown (see {@link BusPair.teardown}). */
  teardown?(settings: Record<string, string>, services: readonly string[]): Promise<void>;
  /** See {@link BusPair.createTransport}. */
  createTransport(settings: Record<string, string>, replica: string): Promise<Transport>;
  /** See {@link BusPair.foreignPublish}. */
  foreignPublish?(settings: Record<string, string>, message: ForeignMessage): Promise<void>;
  /** See {@link BusPair.restartBroker}. */
  restartBroker?(): Promise<void>;
  /** See {@link BusPair.createLock}. */
  createLock?(settings: Record<string, string>): Promise<DistributedLock>;
}

/**
 * A {@link BusPair} of a store side and a transport side, named
 * `<store> + <transport>`. Settings of both setups are merged; teardown runs
 * the transport's, then the store's, even when the first fails.
 *
 * @throws ConfigurationError from `setup` when both sides return a setting of
 *   the same name (the store's is torn down again first).
 */
export function composeBusPair(store: ScenarioStoreSide, transport: ScenarioTransportSide): BusPair {
  return {
    name: `${store.name} + ${transport.name}`,
    features: { ...transport.features, ...store.features },

    async setup(runId) {
      const storeSettings = await store.setup(runId);
      try {
        const transportSettings = (await transport.setup?.(runId)) ?? {};
        const shared = Object.keys(transportSettings).filter((key) => key in storeSettings);
        if (shared.length > 0) {
          throw new ConfigurationError(
            `bus pair ${store.name} + ${transport.name}: both sides set ${shared.join(', ')}`,
          );
        }
        return { ...storeSettings, ...transportSettings };
      } catch (error) {
        // The suite tears down only what a successful setup returned.
        await store.teardown(storeSettings);
        throw error;
      }
    },

    async teardown(settings, services) {
      try {
        await transport.teardown?.(settings, services);
      } finally {
        await store.teardown(settings);
      }
    },

    createStore: (settings) => store.createStore(settings),
    createTransport: (settings, replica) => transport.createTransport(settings, replica),
    ...(transport.foreignPublish ? { foreignPublish: transport.foreignPublish.bind(transport) } : {}),
    ...(transport.restartBroker ? { restartBroker: transport.restartBroker.bind(transport) } : {}),
    ...(transport.createLock ? { createLock: transport.createLock.bind(transport) } : {}),
  };
}
