/**
 * `@herald/testkit/bus-pair`: what a bus scenario pair module needs, without
 * vitest. A pair module is imported by scenario child processes, which run
 * outside vitest, so it must import from here rather than from the main entry.
 *
 * @packageDocumentation
 */
export type {
  BusFeatures,
  BusPair,
  ForeignMessage,
  ScenarioEffect,
  ScenarioStore,
} from './scenarios/pair.js';
export {
  type MigratingEventLog,
  type PrismaServerStoreSideOptions,
  type PrismaSqliteStoreSideOptions,
  prismaMariadbStoreSide,
  prismaPostgresStoreSide,
  prismaSqliteStoreSide,
} from './scenarios/prisma-store-sides.js';
export { composeBusPair, type ScenarioStoreSide, type ScenarioTransportSide } from './scenarios/sides.js';
export {
  type PrismaScenarioClient,
  prismaScenarioStore,
  SCENARIO_EFFECT_DDL,
  SCENARIO_EFFECT_TABLE,
  type SqlScenarioClient,
  type SqlScenarioStoreOptions,
  sqlScenarioStore,
} from './scenarios/sql-store.js';
