import { WireHeaders } from '@herald/core';
import type { JsonSchema } from './json-schema.js';

const text = (description: string): JsonSchema => ({ type: 'string', description });

/**
 * The headers every Herald message carries (core's `WireHeaders`), as the
 * JSON Schema of an AsyncAPI message trait. Application headers are strings too.
 */
export function envelopeHeadersSchema(): JsonSchema {
  return {
    type: 'object',
    properties: {
      [WireHeaders.id]: {
        type: 'string',
        format: 'uuid',
        description: 'Message id (UUID v7); the inbox dedup key.',
      },
      [WireHeaders.name]: text('Event name.'),
      [WireHeaders.version]: { type: 'string', pattern: '^[1-9][0-9]*$', description: 'Payload version.' },
      [WireHeaders.occurredAt]: {
        type: 'string',
        format: 'date-time',
        description: 'When the event was created.',
      },
      [WireHeaders.source]: text('The publishing service.'),
      [WireHeaders.contentType]: text('Serializer of the body, e.g. application/json.'),
      [WireHeaders.correlationId]: text('Groups every message caused by one original request.'),
      [WireHeaders.causationId]: text('Id of the message whose handling caused this one.'),
      [WireHeaders.tenantId]: text('Tenant of the event.'),
      [WireHeaders.orderingKey]: text('Messages with the same key are delivered and handled in order.'),
      [WireHeaders.sequence]: { type: 'string', pattern: '^[0-9]+$', description: 'Position in its outbox.' },
      [WireHeaders.traceparent]: text('W3C trace context.'),
      [WireHeaders.tracestate]: text('W3C trace context.'),
      [WireHeaders.handledInlineBy]: text('Set when the publishing bus already ran its handlers inline.'),
    },
    required: [
      WireHeaders.id,
      WireHeaders.name,
      WireHeaders.version,
      WireHeaders.occurredAt,
      WireHeaders.source,
    ],
    additionalProperties: { type: 'string', description: 'Application headers.' },
  };
}
