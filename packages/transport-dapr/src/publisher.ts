import { describeError, type PublishOutcome, type WireMessage } from '@herald/core';
import type { SidecarConnection } from './connection.js';
import { DaprPublishError } from './errors.js';
import { type BulkEntry, httpBulkPublish } from './http-bulk-publish.js';
import { CLOUD_EVENT_CONTENT_TYPE, encodeCloudEvent, toCloudEvent } from './native-mapping.js';
import type { ResolvedDaprOptions } from './options.js';

/** Metadata key Dapr components read the partition (ordering) key from. */
export const PARTITION_KEY_METADATA = 'partitionKey';

interface Entry {
  readonly index: number;
  readonly message: WireMessage;
}

/**
 * Sends Herald messages through the sidecar: one bulk publish call per
 * (component, topic) of a batch, or one publish call per message. Every
 * message gets its own outcome, so the relay retries only the failed ones.
 */
export class DaprPublisher {
  constructor(
    private readonly connection: SidecarConnection,
    private readonly options: ResolvedDaprOptions,
  ) {}

  async publish(messages: readonly WireMessage[]): Promise<PublishOutcome[]> {
    const outcomes: PublishOutcome[] = messages.map((message) => ({ id: message.id, ok: true }));
    // With declared per-key order, a batch goes out in waves holding at most one message
    // per key: Dapr's bulk fallback (components without native bulk) publishes entries concurrently.
    const waves = this.options.orderedByKey
      ? keyWaves(messages)
      : [messages.map((message, index) => ({ index, message }))];
    for (const wave of waves) {
      await Promise.all(
        groupByDestination(wave, this.options).map((destination) =>
          this.sendDestination(destination, outcomes),
        ),
      );
    }
    return outcomes;
  }

  private async sendDestination(destination: Destination, outcomes: PublishOutcome[]): Promise<void> {
    const { pubsubName, topic, entries } = destination;
    const fail = (entry: Entry, detail: string, cause?: unknown) => {
      outcomes[entry.index] = {
        id: entry.message.id,
        ok: false,
        error: new DaprPublishError(pubsubName, topic, detail, cause === undefined ? undefined : { cause }),
      };
    };
    if (!this.options.bulkPublish || entries.length === 1) {
      await Promise.all(
        entries.map(async (entry) => {
          try {
            await this.connection.dapr.publishEvent({
              pubsubName,
              topic,
              data: encodeCloudEvent(toCloudEvent(entry.message)),
              dataContentType: CLOUD_EVENT_CONTENT_TYPE,
              metadata: this.metadataOf(entry.message),
            });
          } catch (error) {
            fail(entry, describeError(error), error);
          }
        }),
      );
      return;
    }
    try {
      const bulkEntries: BulkEntry[] = entries.map((entry) => ({
        entryId: String(entry.index),
        event: encodeCloudEvent(toCloudEvent(entry.message)),
        contentType: CLOUD_EVENT_CONTENT_TYPE,
        metadata: this.metadataOf(entry.message),
      }));
      const response =
        this.options.bulkPublishApi === 'http'
          ? await httpBulkPublish(this.options, pubsubName, topic, bulkEntries)
          : await this.connection.dapr.bulkPublishEventAlpha1({
              pubsubName,
              topic,
              entries: bulkEntries,
              metadata: {},
            });
      const byIndex = new Map(entries.map((entry) => [String(entry.index), entry]));
      for (const failedEntry of response.failedEntries) {
        const entry = byIndex.get(failedEntry.entryId);
        if (entry) fail(entry, failedEntry.error || 'failed entry without an error text');
      }
    } catch (error) {
      for (const entry of entries) fail(entry, describeError(error), error);
    }
  }

  private metadataOf(message: WireMessage): Record<string, string> {
    return this.options.partitionKeyMetadata && message.orderingKey !== undefined
      ? { [PARTITION_KEY_METADATA]: message.orderingKey }
      : {};
  }
}

interface Destination {
  readonly pubsubName: string;
  readonly topic: string;
  readonly entries: Entry[];
}

/** Entries per (component, topic), in input order. */
function groupByDestination(entries: readonly Entry[], options: ResolvedDaprOptions): Destination[] {
  const byKey = new Map<string, Destination>();
  for (const entry of entries) {
    const pubsubName = options.pubsubFor(entry.message.name);
    const topic = options.topicFor(entry.message.name);
    const key = `${pubsubName}\u0000${topic}`;
    let destination = byKey.get(key);
    if (!destination) {
      destination = { pubsubName, topic, entries: [] };
      byKey.set(key, destination);
    }
    destination.entries.push(entry);
  }
  return [...byKey.values()];
}

/** Splits a batch into consecutive waves with at most one message per ordering key each. */
function keyWaves(messages: readonly WireMessage[]): Entry[][] {
  const waves: Entry[][] = [];
  const nextWaveOfKey = new Map<string, number>();
  messages.forEach((message, index) => {
    const key = message.orderingKey;
    const wave = key === undefined ? 0 : (nextWaveOfKey.get(key) ?? 0);
    if (key !== undefined) nextWaveOfKey.set(key, wave + 1);
    const entries = waves[wave] ?? [];
    entries.push({ index, message });
    waves[wave] = entries;
  });
  return waves;
}
