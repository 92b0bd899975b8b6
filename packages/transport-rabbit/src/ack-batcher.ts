import type { Message } from 'amqplib';

/** The part of an amqplib channel the batcher settles through. */
export interface AckTarget {
  ack(message: Message, allUpTo?: boolean): void;
}

/** How long an ack waits behind an unfinished earlier delivery before it is sent on its own. */
export const DEFAULT_ACK_HOLD_MS = 25;

/**
 * Acknowledges the deliveries of one consumer channel in bulk: acks decided
 * in the same tick go out as one `basic.ack` with `multiple` set, covering
 * the contiguous run of delivery tags that are all decided ack.
 *
 * A delivery that is still being handled (or was nacked) breaks the run: acks
 * behind it wait up to `holdMs` for it, then go out one by one, so a slow or
 * held delivery never keeps the others unacknowledged for long. Nacks are
 * not batched; report them with {@link settledElsewhere} so they stop
 * blocking the run.
 */
export class AckBatcher {
  readonly #channel: AckTarget;
  readonly #holdMs: number;
  /** Delivery tags handed to us and not settled yet, in tag (delivery) order. */
  readonly #open = new Map<number, Message>();
  /** Tags decided ack, not sent yet, with the time of the decision. */
  readonly #decided = new Map<number, number>();
  #flushScheduled = false;
  #holdTimer: NodeJS.Timeout | undefined;
  #discarded = false;
  readonly #onFrame: (acknowledged: number) => void;

  /** `onFrame` is told of every `basic.ack` sent and how many deliveries it settled (metrics). */
  constructor(
    channel: AckTarget,
    onFrame: (acknowledged: number) => void = () => undefined,
    holdMs = DEFAULT_ACK_HOLD_MS,
  ) {
    this.#channel = channel;
    this.#onFrame = onFrame;
    this.#holdMs = holdMs;
  }

  /** Registers a delivery as it arrives (before it is handled). */
  delivered(message: Message): void {
    this.#open.set(message.fields.deliveryTag, message);
  }

  /** Decides ack for a delivery; the frame goes out on the next flush. */
  ack(message: Message): void {
    if (this.#discarded) return;
    const tag = message.fields.deliveryTag;
    if (!this.#open.has(tag)) this.#open.set(tag, message);
    this.#decided.set(tag, Date.now());
    this.#scheduleFlush();
  }

  /** The delivery was settled without us (nacked, requeued): it no longer blocks the run. */
  settledElsewhere(message: Message): void {
    this.#open.delete(message.fields.deliveryTag);
    this.#decided.delete(message.fields.deliveryTag);
    if (this.#decided.size > 0) this.#scheduleFlush();
  }

  /**
   * Sends the decided acks now: the contiguous run with one frame, and (when
   * `all`, or after their hold) the ones behind an unfinished delivery one by one.
   */
  flush(all = false): void {
    if (this.#discarded) return;
    let last: Message | undefined;
    const run: number[] = [];
    for (const [tag, message] of this.#open) {
      if (!this.#decided.has(tag)) break;
      run.push(tag);
      last = message;
    }
    if (last) {
      this.#send(last, run.length);
      for (const tag of run) {
        this.#open.delete(tag);
        this.#decided.delete(tag);
      }
    }
    const now = Date.now();
    for (const [tag, decidedAt] of this.#decided) {
      if (!all && now - decidedAt < this.#holdMs) continue;
      this.#send(this.#open.get(tag)!, 1);
      this.#open.delete(tag);
      this.#decided.delete(tag);
    }
    this.#armHold();
  }

  /** The channel is gone (the broker requeued everything unacked): forget it all. */
  discard(): void {
    this.#discarded = true;
    clearTimeout(this.#holdTimer);
    this.#open.clear();
    this.#decided.clear();
  }

  #send(message: Message, count: number): void {
    try {
      this.#channel.ack(message, count > 1);
      this.#onFrame(count);
    } catch {
      // The channel closed meanwhile: the broker redelivers; the inbox absorbs the duplicates.
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After the current I/O callbacks: acks decided by the same batch of deliveries share a frame.
    setImmediate(() => {
      this.#flushScheduled = false;
      this.flush();
    });
  }

  #armHold(): void {
    clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    if (this.#decided.size === 0) return;
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = undefined;
      this.flush();
    }, this.#holdMs);
    this.#holdTimer.unref();
  }
}
