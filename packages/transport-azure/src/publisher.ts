import type { ServiceBusMessage, ServiceBusMessageBatch, ServiceBusSender } from '@azure/service-bus';
import { TransportError } from '@herald/core';
import { isRetriable } from './errors.js';

/** One message to send, with its place in the `publish` call. */
export interface Outgoing {
  /** Position in the `publish` call's messages: the send result of this message goes there. */
  readonly index: number;
  /** The native message to send. */
  readonly message: ServiceBusMessage;
  /** Messages with the same key are sent in order; after a failure the rest of the key is not sent. */
  readonly key: string | undefined;
  /** Messages of one lane share batches and are sent one batch after the other. */
  readonly lane: string;
}

/** What happened to each message: `undefined` = the service accepted it. */
export type SendResults = Map<number, unknown>;

/** How messages are packed into Service Bus batches and sent. */
export interface BatchOptions {
  /** Largest batch the SDK may build; `undefined`: the link's maximum message size. */
  readonly maxSizeInBytes: number | undefined;
  /** Lanes sent at once. */
  readonly concurrency: number;
}

/**
 * Sends messages in as few `createMessageBatch` batches as fit, starting a new batch
 * whenever `tryAddMessage` says the current one is full. Lanes (one per session in
 * session mode, because a batch carries one session) run concurrently; within a lane
 * batches go one after the other so a key's messages keep their order. Every message
 * gets a result; nothing here throws.
 */
export async function sendInBatches(
  sender: ServiceBusSender,
  items: readonly Outgoing[],
  options: BatchOptions,
): Promise<SendResults> {
  const results: SendResults = new Map();
  const lanes = new Map<string, Outgoing[]>();
  for (const item of items) {
    const lane = lanes.get(item.lane);
    if (lane) lane.push(item);
    else lanes.set(item.lane, [item]);
  }
  const queue = [...lanes.values()];
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) await sendLane(sender, lane, options, results);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length) }, worker));
  return results;
}

async function sendLane(
  sender: ServiceBusSender,
  lane: readonly Outgoing[],
  options: BatchOptions,
  results: SendResults,
): Promise<void> {
  const failedKeys = new Set<string>();
  let batch: ServiceBusMessageBatch | undefined;
  let members: Outgoing[] = [];

  const fail = (item: Outgoing, error: unknown) => {
    results.set(item.index, error);
    if (item.key !== undefined) failedKeys.add(item.key);
  };
  const open = async (): Promise<ServiceBusMessageBatch> =>
    sender.createMessageBatch(options.maxSizeInBytes ? { maxSizeInBytes: options.maxSizeInBytes } : {});
  const flush = async () => {
    if (!batch || members.length === 0) return;
    const sending = members;
    members = [];
    const current = batch;
    batch = undefined;
    try {
      await sender.sendMessages(current);
      for (const item of sending) results.set(item.index, undefined);
    } catch (error) {
      const failure = new TransportError(
        `Service Bus did not accept a batch of ${sending.length} message(s)`,
        {
          cause: error,
          retriable: isRetriable(error),
        },
      );
      for (const item of sending) fail(item, failure);
    }
  };
  const tryAdd = (item: Outgoing): boolean | 'invalid' => {
    try {
      return batch!.tryAddMessage(item.message);
    } catch (error) {
      // The SDK validates while encoding (e.g. a property of the wrong type): only this message fails.
      fail(
        item,
        new TransportError(`Message ${item.message.messageId} cannot be sent`, {
          cause: error,
          retriable: false,
        }),
      );
      return 'invalid';
    }
  };

  for (const item of lane) {
    // At most two rounds: add to the current batch, or (when it is full) send it and add to a new one.
    for (let round = 0; round < 2; round++) {
      if (item.key !== undefined && failedKeys.has(item.key)) {
        fail(
          item,
          new TransportError('Not sent: an earlier message with the same ordering key was not accepted'),
        );
        break;
      }
      try {
        batch ??= await open();
      } catch (error) {
        fail(
          item,
          new TransportError('Could not open the Service Bus sender', {
            cause: error,
            retriable: isRetriable(error),
          }),
        );
        break;
      }
      const added = tryAdd(item);
      if (added === 'invalid') break;
      if (added) {
        members.push(item);
        break;
      }
      if (members.length === 0) {
        fail(
          item,
          new TransportError(
            `Message ${item.message.messageId} is larger than the maximum batch size of ${batch.maxSizeInBytes} bytes`,
            { retriable: false },
          ),
        );
        break;
      }
      await flush();
    }
  }
  await flush();
}
