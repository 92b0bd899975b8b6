import { randomUUID } from 'node:crypto';
import type { DeadLetter, Logger } from '@herald/core';
import type { SidecarConnection } from './connection.js';
import { DaprPublishError } from './errors.js';
import { EventStream } from './event-stream.js';
import {
  CLOUD_EVENT_CONTENT_TYPE,
  type DeliveredEvent,
  encodeCloudEvent,
  readHeraldHeaders,
  stringExtension,
  toCloudEvent,
} from './native-mapping.js';

/** CloudEvent extension attributes the transport adds to a dead letter, next to the original ones. */
export const DeadLetterExtensions = {
  /** Why core rejected the message (`Disposition.reason`). */
  reason: 'heralddlqreason',
  /** Consumer group that rejected it. */
  group: 'heralddlqgroup',
  /** Component and topic it came from (`pubsub/topic`). */
  origin: 'heralddlqorigin',
  /** When it was dead-lettered (ISO 8601). */
  at: 'heralddlqat',
} as const;

/** Dead letters a reader keeps in memory (the oldest are let go first). */
export const MAX_KEPT_LETTERS = 1_000;

/** Longest reason kept; core's reasons are short, a handler's error text may not be. */
const MAX_REASON_LENGTH = 4_000;

/** Where a rejected event came from. */
export interface RejectedEvent {
  readonly group: string;
  readonly pubsubName: string;
  readonly topic: string;
  readonly event: DeliveredEvent;
  /** The headers handed to core (empty for a header-less message). */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Dead letters on Dapr: a rejected event is published, unchanged (same data,
 * same Herald headers), to the group's dead-letter topic with the reason as an
 * extension attribute; only then is the original dropped. Reading them back
 * subscribes to that topic through the group's component.
 */
export class DaprDeadLetters {
  private readonly readers = new Map<
    string,
    { stream: EventStream; letters: DeadLetter[]; opened: Promise<void> }
  >();

  constructor(
    private readonly connection: SidecarConnection,
    private readonly settings: {
      readonly deadLetterTopicFor: (group: string) => string;
      readonly subscribeTimeoutMs: number;
      readonly resubscribeDelayMs: number;
      readonly logger: Logger;
    },
  ) {}

  /** Publishes the dead letter; rejects when the sidecar did not take it (the original is then kept). */
  async send(rejected: RejectedEvent, reason: string): Promise<void> {
    const topic = this.settings.deadLetterTopicFor(rejected.group);
    const event = toCloudEvent(
      {
        id: rejected.event.id || randomUUID(),
        name: rejected.headers['herald-name'] ?? 'herald.dead-letter',
        headers: rejected.headers,
        body: rejected.event.data,
      },
      {
        [DeadLetterExtensions.reason]: reason.slice(0, MAX_REASON_LENGTH),
        [DeadLetterExtensions.group]: rejected.group,
        [DeadLetterExtensions.origin]: `${rejected.pubsubName}/${rejected.topic}`,
        [DeadLetterExtensions.at]: new Date().toISOString(),
      },
    );
    try {
      await this.connection.dapr.publishEvent({
        pubsubName: rejected.pubsubName,
        topic,
        data: encodeCloudEvent(event),
        dataContentType: CLOUD_EVENT_CONTENT_TYPE,
        metadata: {},
      });
    } catch (error) {
      throw new DaprPublishError(rejected.pubsubName, topic, 'dead letter not accepted', { cause: error });
    }
  }

  /**
   * The dead letters of `group` this transport has read from its dead-letter
   * topic (through `pubsubName`, whose consumer group is `group`), oldest
   * first, at most the last {@link MAX_KEPT_LETTERS}.
   */
  async read(group: string, pubsubName: string, limit: number): Promise<DeadLetter[]> {
    const reader = await this.ensureReader(group, pubsubName);
    return reader.letters.slice(0, limit);
  }

  /**
   * Starts reading the group's dead-letter topic (once). Called when the group
   * subscribes: on brokers where a topic keeps messages only for existing
   * subscriptions (a RabbitMQ exchange drops what no queue is bound to), the
   * subscription must exist before the first letter is written.
   */
  async ensureReader(group: string, pubsubName: string): Promise<{ letters: DeadLetter[] }> {
    const key = `${pubsubName}\u0000${group}`;
    const existing = this.readers.get(key);
    if (existing) {
      await existing.opened;
      return existing;
    }
    const letters: DeadLetter[] = [];
    const stream = new EventStream(
      this.connection,
      { pubsubName, topic: this.settings.deadLetterTopicFor(group) },
      async (event) => {
        letters.push(toDeadLetter(event));
        if (letters.length > MAX_KEPT_LETTERS) letters.splice(0, letters.length - MAX_KEPT_LETTERS);
        return 'SUCCESS';
      },
      this.settings,
    );
    const opened = stream.open();
    const reader = { stream, letters, opened };
    this.readers.set(key, reader);
    try {
      await opened;
    } catch (error) {
      this.readers.delete(key);
      throw error;
    }
    return reader;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.readers.values()].map((reader) => reader.stream.close()));
    this.readers.clear();
  }
}

/** A delivered dead-letter event as core's `DeadLetter`. */
export function toDeadLetter(event: DeliveredEvent): DeadLetter {
  const reading = readHeraldHeaders(event);
  return {
    headers: reading.ok ? reading.headers : {},
    body: event.data,
    reason:
      stringExtension(event, DeadLetterExtensions.reason) ??
      '(no reason recorded: dead-lettered by Dapr itself, e.g. after its own retries)',
  };
}
