import type { Envelope } from '../envelope.js';
import { UnknownEventError, UnsupportedEventVersionError } from '../errors.js';
import { type EventDescriptor, instantiate, validatePayload } from '../event.js';
import type { HandlerRegistry } from '../handlers.js';

/**
 * Upcasts and validates a decoded envelope into an instance of its event
 * class. Throws a `HeraldError` (unknown event, unsupported version, schema
 * violation) for a message that can never be handled.
 */
export async function materialize(registry: HandlerRegistry, envelope: Envelope): Promise<unknown> {
  const descriptor = registry.descriptor(envelope.name);
  if (!descriptor) throw new UnknownEventError(envelope.name);
  const payload = upcast(descriptor, envelope);
  const value = await validatePayload(descriptor, payload);
  return instantiate(descriptor.type, value);
}

/** Lifts an older payload to the current version through the event's upcasters. */
function upcast(descriptor: EventDescriptor, envelope: Envelope): unknown {
  let payload = envelope.payload;
  for (let version = envelope.version; version < descriptor.version; version++) {
    const step = descriptor.upcasters[version];
    if (!step) {
      throw new UnsupportedEventVersionError(
        envelope.name,
        envelope.version,
        `no upcaster from version ${version} to ${version + 1}`,
      );
    }
    payload = step(payload);
  }
  return payload;
}
