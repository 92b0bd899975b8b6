import type { Logger } from '@herald/core';
import type { Producer } from 'kafkajs';

/**
 * Broker answers after which an idempotent producer's id and sequence numbers are useless: the
 * broker no longer has the state they continue (a restart in the middle of a batch can leave
 * kafkajs' local sequence ahead of the log). The Java client then bumps its epoch; kafkajs keeps
 * failing every batch with the same error, so the transport takes a new producer instead.
 */
const PRODUCER_STATE_LOST = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
]);

/** True when `error` (or an error it wraps) says the broker lost this producer's idempotence state. */
export function producerStateLost(error: unknown): boolean {
  let current = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (PRODUCER_STATE_LOST.has((current as { type?: string }).type ?? '')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The transport's idempotent producer, replaced by a fresh one (a new
 * producer id, sequences from 0) once the broker says it lost the old one's
 * state. The fresh producer connects on first use, so a renewal during an
 * outage costs nothing until the broker is back.
 */
export class RenewableProducer {
  readonly #create: () => Producer;
  readonly #logger: Logger;
  #producer: Producer;
  #connected = false;
  #connecting: Promise<void> | undefined;

  constructor(create: () => Producer, logger: Logger) {
    this.#create = create;
    this.#logger = logger;
    this.#producer = create();
  }

  /** The producer to send with, connected. */
  async ready(): Promise<Producer> {
    const producer = this.#producer;
    if (!this.#connected) {
      this.#connecting ??= producer.connect().then(
        () => {
          if (this.#producer === producer) this.#connected = true;
          this.#connecting = undefined;
        },
        (error: unknown) => {
          this.#connecting = undefined;
          throw error;
        },
      );
      await this.#connecting;
    }
    return producer;
  }

  /**
   * `failed` lost its state: later sends use a new producer. A no-op when
   * another send already replaced it (concurrent batches fail together).
   */
  renew(failed: Producer, error: unknown): void {
    if (failed !== this.#producer) return;
    this.#logger.warn(
      'The Kafka broker lost the idempotent producer’s state (a restart mid-batch); sending with a new producer id. The failed batch is retried; copies the broker did keep are absorbed by the inbox',
      { error },
    );
    this.#producer = this.#create();
    this.#connected = false;
    this.#connecting = undefined;
    void failed.disconnect().catch(() => undefined);
  }

  /** Disconnects the current producer. */
  disconnect(): Promise<void> {
    this.#connected = false;
    return this.#producer.disconnect();
  }
}
