import type { ContractDocument, HeraldEventInfo } from './document.js';
import { ContractError } from './errors.js';
import type { JsonSchema } from './json-schema.js';

/** One event as a contract document describes it. */
export interface ContractEvent {
  /** What the document's `x-herald-event` says: name, version, upcasters and how the schema came out. */
  readonly info: HeraldEventInfo;
  /** The payload's JSON Schema; undefined when the event has none (or it could not be described). */
  readonly payload: JsonSchema | undefined;
  /** Whether the service publishes it. */
  readonly sent: boolean;
  /** The service's handlers of it. */
  readonly handlers: readonly {
    /** The handler's stable name. */
    readonly name: string;
    /** The consumer group it receives through. */
    readonly group: string;
  }[];
}

/** A contract document read back into the facts the check and the catalog use. */
export interface ContractModel {
  /** The service the document describes (`info.x-herald-service`). */
  readonly service: string;
  /** Every event the document has a message for, by event name. */
  readonly events: ReadonlyMap<string, ContractEvent>;
}

/** Reads a document written by `exportContracts` (or a snapshot of one); a foreign document is a `ContractError`. */
export function readContract(document: unknown, label = 'document'): ContractModel {
  const doc = document as Partial<ContractDocument> | null;
  const service = doc?.info?.['x-herald-service'];
  if (!doc || typeof doc !== 'object' || typeof doc.asyncapi !== 'string' || typeof service !== 'string') {
    throw new ContractError(
      `${label} is not a Herald contract (no asyncapi version or info.x-herald-service)`,
    );
  }
  const messages = new Map<string, { info: HeraldEventInfo; payload: JsonSchema | undefined }>();
  for (const channel of Object.values(doc.channels ?? {})) {
    for (const message of Object.values(channel?.messages ?? {})) {
      const info = message?.['x-herald-event'];
      if (!info || typeof info.name !== 'string' || !Number.isInteger(info.version)) {
        throw new ContractError(
          `${label}: a message of channel "${channel.address}" has no valid x-herald-event`,
        );
      }
      messages.set(info.name, {
        info: { ...info, upcasters: Array.isArray(info.upcasters) ? info.upcasters : [] },
        payload: info.schema === 'json-schema' ? message.payload : undefined,
      });
    }
  }
  const events = new Map<string, ContractEvent>();
  for (const [name, message] of messages) events.set(name, { ...message, sent: false, handlers: [] });
  for (const operation of Object.values(doc.operations ?? {})) {
    const name = operation?.['x-herald-event'];
    const event = typeof name === 'string' ? events.get(name) : undefined;
    if (!event)
      throw new ContractError(`${label}: an operation names an event without a message (${String(name)})`);
    const handler = operation['x-herald-handler'];
    events.set(
      name as string,
      operation.action === 'send'
        ? { ...event, sent: true }
        : { ...event, handlers: handler ? [...event.handlers, handler] : event.handlers },
    );
  }
  return { service, events };
}
