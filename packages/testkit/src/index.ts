export { chaosEventLog } from './chaos/chaos-event-log.js';
export { ChaosInboxStore } from './chaos/chaos-inbox.js';
export { ChaosOutboxStore } from './chaos/chaos-outbox.js';
export { ChaosTransport, chaosTransport, shuffleAcrossKeys } from './chaos/chaos-transport.js';
export { ChaosError, type ChaosOptions } from './chaos/options.js';
export type { DrainOptions } from './harness/drain.js';
export { applyHarnessOptions, HARNESS_DEFAULTS, type TestHarnessOptions } from './harness/options.js';
export type {
  AbsorbedDuplicate,
  BusError,
  ConsumedMessage,
  DeadLetteredMessage,
  FailedAttempt,
  PublishedMessage,
} from './harness/records.js';
export { type CapturingLogger, capturingLogger, failureText } from './harness/secret-probe.js';
export { createTestHarness, type EventRef, HARNESS_EVENT_LOG, TestHarness } from './harness/test-harness.js';
export { busScenarios } from './scenarios/cases.js';
export type { BusScenarioContext, LocalReplica } from './scenarios/context.js';
export type {
  BusFeatures,
  BusPair,
  ForeignMessage,
  ScenarioEffect,
  ScenarioStore,
} from './scenarios/pair.js';
export {
  type HandlerRun,
  type ReplicaReport,
  type ReplicaRole,
  SCENARIO_BUS_OPTIONS,
  ScenarioHandlerFailure,
} from './scenarios/replica.js';
export {
  type ScenarioScope,
  STEP_HANDLER,
  type StepPayload,
  stepEvent,
  stepEventName,
} from './scenarios/scenario-events.js';
export {
  SCENARIO_EFFECT_DDL,
  SCENARIO_EFFECT_TABLE,
  type SqlScenarioClient,
  type SqlScenarioStoreOptions,
  sqlScenarioStore,
} from './scenarios/sql-store.js';
export {
  type BusScenarioOptions,
  type BusScenarioRun,
  describeBusScenarios,
  runBusScenario,
} from './scenarios/suite.js';
export { CaseSkipped, type ConformanceCase, skipCase } from './suites/case.js';
export type { InboxStoreConformanceOptions, InboxStoreFixture } from './suites/inbox-store.js';
export { describeInboxStoreConformance, inboxStoreCases, runInboxStoreCase } from './suites/inbox-store.js';
export type {
  LocalCopyLike,
  LocalEntityStoreConformanceOptions,
  LocalEntityStoreFixture,
  LocalEntityStoreLike,
} from './suites/local-entity-store.js';
export {
  describeLocalEntityStoreConformance,
  localEntityStoreCases,
  runLocalEntityStoreCase,
} from './suites/local-entity-store.js';
export type { LockConformanceOptions, LockTestContext } from './suites/lock.js';
export { describeLockConformance, lockCases, runLockCase } from './suites/lock.js';
export type { TestMessageOptions } from './suites/messages.js';
export { outboxEntry, payloadOfTestMessage, testWireMessage, uniqueEventName } from './suites/messages.js';
export type { OutboxStoreConformanceOptions, OutboxStoreFixture } from './suites/outbox-store.js';
export {
  describeOutboxStoreConformance,
  outboxStoreCases,
  runOutboxStoreCase,
} from './suites/outbox-store.js';
export type { TransportConformanceOptions, TransportTestContext } from './suites/transport.js';
export {
  describeTransportConformance,
  runTransportCase,
  transportCases,
  transportRestartCase,
} from './suites/transport.js';
export type { UnitOfWorkConformanceOptions, UnitOfWorkFixture } from './suites/unit-of-work.js';
export { describeUnitOfWorkConformance, runUnitOfWorkCase, unitOfWorkCases } from './suites/unit-of-work.js';
