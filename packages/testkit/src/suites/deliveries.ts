import { type DeliveryHandler, type Disposition, type IncomingMessage, WireHeaders } from '@herald/core';
import { waitFor } from '../internal/wait.js';

/** One delivery seen by a {@link Deliveries} recorder. */
export interface RecordedDelivery {
  readonly message: IncomingMessage;
  /** The herald-id header, or `x-testkit-id` for messages without one. */
  readonly id: string;
  /** Which subscriber received it (the label given to `handler`). */
  readonly member: string;
  /** `Date.now()` when the delivery arrived. */
  readonly receivedAt: number;
  /** `Date.now()` when the handler returned its disposition. */
  disposedAt: number;
}

/** Decides the disposition of a delivery; `index` counts deliveries of the same id (0 = first). */
export type Decide = (message: IncomingMessage, index: number) => Disposition | Promise<Disposition>;

/** The acknowledging disposition. */
export const ACK: Disposition = { kind: 'ack' };

/** Records every delivery a transport makes, for the transport suite's assertions. */
export class Deliveries {
  readonly items: RecordedDelivery[] = [];

  /** A delivery handler for subscriber `member` that records and then asks `decide`. */
  handler(member = 'member', decide: Decide = () => ACK): DeliveryHandler {
    return async (message) => {
      const id = message.headers[WireHeaders.id] ?? message.headers['x-testkit-id'] ?? '(no id)';
      const index = this.items.filter((item) => item.id === id).length;
      const record: RecordedDelivery = { message, id, member, receivedAt: Date.now(), disposedAt: 0 };
      this.items.push(record);
      const disposition = await decide(message, index);
      record.disposedAt = Date.now();
      return disposition;
    };
  }

  /** Deliveries of one id, in arrival order. */
  of(id: string): RecordedDelivery[] {
    return this.items.filter((item) => item.id === id);
  }

  /** Distinct ids delivered so far. */
  distinctIds(): Set<string> {
    return new Set(this.items.map((item) => item.id));
  }

  /** Ids delivered more than once. */
  duplicates(): string[] {
    const counts = new Map<string, number>();
    for (const item of this.items) counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
    return [...counts].filter(([, count]) => count > 1).map(([id]) => id);
  }

  /** Waits until every id in `ids` has been delivered at least once. */
  async waitForIds(ids: readonly string[], timeoutMs: number): Promise<void> {
    await waitFor(
      () => {
        const seen = this.distinctIds();
        return ids.every((id) => seen.has(id));
      },
      {
        timeoutMs,
        describe: () => {
          const seen = this.distinctIds();
          return `${ids.filter((id) => !seen.has(id)).length} of ${ids.length} messages were never delivered`;
        },
      },
    );
  }

  /** Waits until at least `count` deliveries (counting redeliveries) arrived. */
  async waitForCount(count: number, timeoutMs: number): Promise<void> {
    await waitFor(() => this.items.length >= count, {
      timeoutMs,
      describe: () => `expected ${count} deliveries, got ${this.items.length}`,
    });
  }
}
