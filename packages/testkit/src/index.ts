export type { ConformanceCase } from './suites/case.js';
export { testWireMessage, outboxEntry, uniqueEventName, payloadOfTestMessage } from './suites/messages.js';
export type { TestMessageOptions } from './suites/messages.js';
export {
  describeOutboxStoreConformance,
  outboxStoreCases,
  runOutboxStoreCase,
} from './suites/outbox-store.js';
export type { OutboxStoreConformanceOptions, OutboxStoreFixture } from './suites/outbox-store.js';
export { describeInboxStoreConformance, inboxStoreCases, runInboxStoreCase } from './suites/inbox-store.js';
export type { InboxStoreConformanceOptions, InboxStoreFixture } from './suites/inbox-store.js';
export {
  describeTransportConformance,
  runTransportCase,
  transportCases,
  transportRestartCase,
} from './suites/transport.js';
export type { TransportConformanceOptions, TransportTestContext } from './suites/transport.js';
export { describeLockConformance, lockCases, runLockCase } from './suites/lock.js';
export type { LockConformanceOptions, LockTestContext } from './suites/lock.js';
