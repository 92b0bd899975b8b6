import {
  type Envelope,
  fromWire,
  type IntegrationEventBusBuilder,
  JsonSerializer,
  type Serializer,
} from '@herald/core';
import type {
  AbsorbedDuplicate,
  BusError,
  ConsumedMessage,
  DeadLetteredMessage,
  FailedAttempt,
  PublishedMessage,
} from './records.js';

/** Collects what buses report through their monitoring events. */
export class HarnessRecorder {
  readonly published: PublishedMessage[] = [];
  readonly consumed: ConsumedMessage[] = [];
  readonly deadLettered: DeadLetteredMessage[] = [];
  readonly failures: FailedAttempt[] = [];
  readonly duplicates: AbsorbedDuplicate[] = [];
  readonly errors: BusError[] = [];
  readonly #serializer: Serializer;

  constructor(serializer: Serializer = new JsonSerializer({ maxPayloadBytes: Number.MAX_SAFE_INTEGER })) {
    this.#serializer = serializer;
  }

  /** Registers listeners on a builder (before `build()`). */
  attach(builder: IntegrationEventBusBuilder): void {
    const service = builder.service;
    builder
      .on('sent', (event) => {
        const envelope = this.#decode(event.message);
        this.published.push({
          service,
          eventName: event.eventName,
          messageId: event.messageId,
          source: event.source,
          payload: envelope?.payload,
          envelope,
          message: event.message,
        });
      })
      .on('received', (event) => {
        this.consumed.push({
          service,
          eventName: event.eventName,
          messageId: event.messageId,
          handler: event.handler,
          source: event.source,
          payload: event.envelope.payload,
          envelope: event.envelope,
        });
      })
      .on('dead-lettered', (event) => this.deadLettered.push({ ...event, service }))
      .on('failed', (event) => this.failures.push({ ...event, service }))
      .on('duplicate', (event) => this.duplicates.push({ ...event, service }))
      .on('error', (event) => this.errors.push({ ...event, service }));
  }

  #decode(message: PublishedMessage['message']): Envelope | undefined {
    try {
      return fromWire(message.headers, message.body, this.#serializer);
    } catch {
      return undefined;
    }
  }
}
