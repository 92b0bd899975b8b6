import type { CatalogEvent, EventCatalog, TransportNaming } from '@herald/core';
import { asyncApiKey } from './asyncapi-ids.js';
import { channelBindings, receiveBindings } from './bindings.js';
import {
  ASYNCAPI_VERSION,
  type ContractChannel,
  type ContractDocument,
  type ContractMessage,
  type ContractOperation,
} from './document.js';
import { envelopeHeadersSchema } from './envelope-headers.js';
import { ContractError } from './errors.js';
import { type PayloadSchema, payloadSchemaOf } from './json-schema.js';
import type { ContractSource, ExportOptions } from './options.js';

const ENVELOPE_TRAIT = 'HeraldEnvelope';

/**
 * Writes the AsyncAPI 3.0 document of a service from its bus or builder:
 * one channel per event (addressed as its transport names it), one message
 * per event with its payload's JSON Schema, version and upcasters, the
 * envelope headers as a shared trait, a `send` operation per published event
 * and a `receive` operation per handler. Nothing is started or connected.
 *
 * Declare what the service publishes with `builder.publishes(...)`.
 */
export async function exportContracts(
  source: ContractSource,
  options: ExportOptions = {},
): Promise<ContractDocument> {
  if (!source || typeof (source as Partial<ContractSource>).catalog !== 'function') {
    throw new ContractError('exportContracts() expects a bus or a builder (something with catalog())');
  }
  const catalog = source.catalog();
  const naming = options.naming ?? namingOf(catalog);
  const channels: Record<string, ContractChannel> = {};
  const operations: Record<string, ContractOperation> = {};
  for (const event of catalog.events) {
    const key = asyncApiKey(event.descriptor.name);
    const message = messageOf(event, await payloadSchemaOf(event.descriptor, options.toJsonSchema));
    const channel = naming.channel(event.descriptor.name);
    const bindings = channelBindings(naming.protocol, channel);
    channels[key] = {
      address: channel.address,
      title: event.descriptor.name,
      messages: { [key]: message },
      ...(bindings ? { bindings } : {}),
      'x-herald-channel': channel,
    };
    const refs = {
      channel: { $ref: `#/channels/${key}` },
      messages: [{ $ref: `#/channels/${key}/messages/${key}` }],
    };
    if (event.sent) {
      operations[`send.${key}`] = {
        action: 'send',
        ...refs,
        summary: `${catalog.service} publishes ${event.descriptor.name}`,
        'x-herald-event': event.descriptor.name,
      };
    }
    for (const handler of event.handlers) {
      const consumer = naming.consumer(handler.group);
      const opBindings = receiveBindings(naming.protocol, consumer);
      operations[`receive.${key}.${asyncApiKey(handler.name)}`] = {
        action: 'receive',
        ...refs,
        summary: `${handler.name} (group ${handler.group}) handles ${event.descriptor.name}`,
        ...(opBindings ? { bindings: opBindings } : {}),
        'x-herald-event': event.descriptor.name,
        'x-herald-handler': { name: handler.name, group: handler.group },
        'x-herald-consumer': consumer,
      };
    }
  }
  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: options.title ?? catalog.service,
      version: options.version ?? '1.0.0',
      ...(options.description !== undefined ? { description: options.description } : {}),
      'x-herald-service': catalog.service,
      'x-herald-transport': { name: catalog.transport?.name ?? 'in-process', protocol: naming.protocol },
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: {
      messageTraits: {
        [ENVELOPE_TRAIT]: {
          summary: 'The Herald envelope: message id, event name and version, source, correlation, tracing.',
          headers: envelopeHeadersSchema(),
        },
      },
    },
  };
}

/** The transport's own naming; names as they are for the in-process default or a transport without one. */
function namingOf(catalog: EventCatalog): TransportNaming {
  if (catalog.transport?.naming) return catalog.transport.naming;
  return {
    protocol: catalog.transport?.name ?? 'in-process',
    channel: (eventName) => ({ address: eventName }),
    consumer: (group) => ({ name: group, kind: 'queue' }),
  };
}

function messageOf(event: CatalogEvent, payload: PayloadSchema): ContractMessage {
  const { name, version, upcasters } = event.descriptor;
  const lifted = Object.keys(upcasters)
    .map(Number)
    .filter((v) => Number.isInteger(v) && v >= 1 && v < version && typeof upcasters[v] === 'function')
    .sort((a, b) => a - b);
  const upcastText =
    lifted.length > 0 ? ` Upcasters lift ${lifted.map((v) => `v${v}→v${v + 1}`).join(', ')}.` : '';
  return {
    name,
    title: `${name} v${version}`,
    summary: `${summaryOf(payload)} Version ${version}.${upcastText}`,
    contentType: 'application/json',
    payload: payloadJson(payload),
    traits: [{ $ref: `#/components/messageTraits/${ENVELOPE_TRAIT}` }],
    'x-herald-event': {
      name,
      version,
      upcasters: lifted,
      schema: payload.kind,
      ...(payload.kind !== 'none' ? { vendor: payload.vendor } : {}),
      ...(payload.kind === 'unconvertible' ? { reason: payload.reason } : {}),
    },
  };
}

function summaryOf(payload: PayloadSchema): string {
  if (payload.kind === 'json-schema') return `Payload described by its ${payload.vendor} schema.`;
  if (payload.kind === 'none') return 'No schema declared: the payload is neither validated nor described.';
  return `Payload schema (${payload.vendor}) not described: ${payload.reason}.`;
}

function payloadJson(payload: PayloadSchema) {
  if (payload.kind === 'json-schema') return payload.schema;
  return { description: summaryOf(payload) };
}
