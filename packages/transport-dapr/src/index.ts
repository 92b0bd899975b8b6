export { DeadLetterExtensions } from './dead-letters.js';
export {
  DaprGroupMappingError,
  DaprPublishError,
  DaprSidecarUnreachableError,
  DaprSubscriptionError,
} from './errors.js';
export type { GiveBackMode } from './give-back.js';
export { CLOUD_EVENT_CONTENT_TYPE, CloudEventExtensions } from './native-mapping.js';
export type { DaprTransportOptions } from './options.js';
export { PARTITION_KEY_METADATA } from './publisher.js';
export { defaultDeadLetterTopicFor, defaultTopicFor } from './topology.js';
export { type DaprTransport, daprTransport } from './transport.js';
