import { WireHeaders } from '@herald/core';
import type { SidecarConnection } from './connection.js';
import { DaprPublishError } from './errors.js';
import {
  CLOUD_EVENT_CONTENT_TYPE,
  type CloudEventJson,
  type DeliveredEvent,
  encodeCloudEvent,
  readHeraldHeaders,
  toCloudEvent,
} from './native-mapping.js';

/**
 * How an event the consumer cannot finish (its subscription is closing) goes
 * back to the broker:
 *
 * - `'republish'`: left unanswered, then published again, unchanged, to the
 *   topic it came from once the subscription stream has ended (whatever the
 *   component then does with the failed delivery, the copy remains); other
 *   groups reading the topic get a copy too (their inbox recognises it) and
 *   its key's order is not kept.
 * - `'retry'`: answered `RETRY`, which leaves redelivery to the component. Safe
 *   on `pubsub.rabbitmq` (requeue) but not on Dapr 1.18's `pubsub.redis`, which
 *   acknowledges (`XACK`) a delivery that failed before its
 *   `processingTimeout` — the message is gone.
 */
export type GiveBackMode = 'republish' | 'retry';

/** Where a given-back event goes. */
export interface GiveBackTarget {
  readonly pubsubName: string;
  readonly topic: string;
}

/** Publishes delivered events again to the topic they came from (`'republish'`). */
export class DaprGiveBack {
  constructor(private readonly connection: SidecarConnection) {}

  /** Publishes every event again; rejects with the first `DaprPublishError` after trying them all. */
  async republishAll(target: GiveBackTarget, events: readonly DeliveredEvent[]): Promise<void> {
    const results = await Promise.allSettled(events.map((event) => this.republish(target, event)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Publishes `event` again, unchanged; rejects with `DaprPublishError` when the sidecar did not take it. */
  async republish(target: GiveBackTarget, event: DeliveredEvent): Promise<void> {
    const reading = readHeraldHeaders(event);
    const headers = reading.ok ? reading.headers : {};
    try {
      await this.connection.dapr.publishEvent({
        pubsubName: target.pubsubName,
        topic: target.topic,
        data: encodeCloudEvent(rebuiltCloudEvent(event, headers)),
        dataContentType: CLOUD_EVENT_CONTENT_TYPE,
        metadata: {},
      });
    } catch (error) {
      throw new DaprPublishError(target.pubsubName, target.topic, 'event not given back', { cause: error });
    }
  }
}

/**
 * The CloudEvent of a delivered event as it was published: Herald's own
 * mapping when it carries Herald headers, else its attributes and string
 * extensions as they came (a foreign event stays foreign).
 */
function rebuiltCloudEvent(event: DeliveredEvent, headers: Record<string, string>): CloudEventJson {
  if (headers[WireHeaders.id] !== undefined) {
    const orderingKey = headers[WireHeaders.orderingKey];
    return toCloudEvent({
      id: event.id,
      name: headers[WireHeaders.name] ?? event.type ?? '',
      headers,
      body: event.data,
      ...(orderingKey !== undefined ? { orderingKey } : {}),
    });
  }
  const cloudEvent: CloudEventJson = {
    specversion: '1.0',
    id: event.id,
    type: event.type || 'unknown',
    source: event.source || 'unknown',
    datacontenttype: event.dataContentType || 'application/octet-stream',
    data_base64: Buffer.from(event.data).toString('base64'),
  };
  for (const [name, value] of Object.entries(event.extensions ?? {})) {
    if (typeof value === 'string' && !(name in cloudEvent)) cloudEvent[name] = value;
  }
  return cloudEvent;
}
