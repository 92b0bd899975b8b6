import {
  fromWire,
  type HeraldOptions,
  type IntegrationEventBus,
  JsonSerializer,
  type OutboxRecord,
} from '@herald/core';

/** Small intervals so relays and retries act within a test. */
export const fastOptions: Partial<HeraldOptions> = {
  pollingInterval: 50,
  localFailedRetryInterval: 5,
  failedRetryInterval: 30,
  minimumRetryInterval: 400,
  handlerTimeout: 5_000,
};

/** What an outbox row carries, decoded. */
export interface StoredEvent {
  readonly name: string;
  readonly orderingKey: string | undefined;
  readonly payload: {
    entityType: string;
    keys: Record<string, string | number>;
    keysAsString: string;
    version?: number;
    entity: Record<string, unknown>;
  };
}

/** Decodes outbox records into their event names, ordering keys and payloads. */
export function decodeRecords(records: readonly OutboxRecord[]): StoredEvent[] {
  const serializer = new JsonSerializer();
  return records.map((record) => {
    const envelope = fromWire(record.message.headers, record.message.body, serializer);
    return {
      name: envelope.name,
      orderingKey: record.message.orderingKey,
      payload: envelope.payload as StoredEvent['payload'],
    };
  });
}

/** Stops the buses a test started. */
export class Buses {
  readonly #running: IntegrationEventBus[] = [];

  track(bus: IntegrationEventBus): IntegrationEventBus {
    this.#running.push(bus);
    return bus;
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled(this.#running.splice(0).map((bus) => bus.stop()));
  }
}
