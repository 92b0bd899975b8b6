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
 * The transport's idempotent producer: sends one at a time, and is replaced
 * by a fresh one (a new producer id, sequences from 0) after any failed send.
 *
 * Why after any failure: kafkajs gives a failed request's sequence numbers
 * back, whether or not the broker wrote the batch (a response lost to a
 * restart or a timeout). The next batch of the same size then carries the
 * same sequence numbers, and a broker that did write the first one answers
 * "duplicate", success, without writing the second: it is lost although
 * confirmed. A new producer id cannot match anything the broker holds. Why one
 * at a time: a send waiting behind a failing one would take those sequence
 * numbers before the failure reaches the transport. kafkajs sends one request
 * per broker at a time anyway (`maxInFlightRequests: 1`), so this costs only
 * the overlap of building one batch while another is on the wire.
 */
export class RenewableProducer {
  readonly #create: () => Producer;
  readonly #logger: Logger;
  #producer: Producer;
  #connected = false;
  #connecting: Promise<void> | undefined;
  /** The send in progress; the next one starts after it settles. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(create: () => Producer, logger: Logger) {
    this.#create = create;
    this.#logger = logger;
    this.#producer = create();
  }

  /**
   * Runs `send` with the connected producer once the sends before it settled;
   * if it fails, later sends use a new producer. Rejects with what `send` or
   * connecting rejected with.
   */
  send<T>(send: (producer: Producer) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      const producer = await this.ready();
      try {
        return await send(producer);
      } catch (error) {
        this.renew(producer, error);
        throw error;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The producer to send with, connected. Prefer {@link send}, which also orders and renews. */
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
   * A send with `failed` failed: later sends use a new producer. A no-op when
   * another failure already replaced it.
   */
  renew(failed: Producer, error: unknown): void {
    if (failed !== this.#producer) return;
    if (producerStateLost(error)) {
      this.#logger.warn(
        'The Kafka broker lost the idempotent producer’s state (a restart mid-batch); sending with a new producer id. The failed batch is retried; copies the broker did keep are absorbed by the inbox',
        { error },
      );
    } else {
      // Routine during an outage (the relay logs the outage itself), so not a warning.
      this.#logger.debug(
        'A Kafka send failed; the next one uses a new producer id (the broker may have written the failed batch)',
        { error },
      );
    }
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
