import { ambientContext } from './ambient-context.js';
import type { ConsumeFilter, PublishFilter } from './filters.js';

/** Header prefix of propagated ambient values (`x-herald-ctx-` would be reserved: `herald-` is core's). */
export const CONTEXT_HEADER_PREFIX = 'x-context-';

/**
 * A publish filter and a consume filter that carry ambient context values
 * from the publishing request to the handler (NetCorePal's
 * `AddContextIntegrationFilters`): the publish filter copies the named keys of
 * {@link ambientContext} into `x-context-<key in lower case>` headers, the consume filter
 * restores them around the handler. `tenantId` and `correlationId` travel in
 * the envelope already and need not be listed.
 *
 * ```ts
 * const context = propagateAmbientContext(['userId', 'culture']);
 * builder.publishFilter(context.publish).consumeFilter(context.consume);
 * ```
 */
export function propagateAmbientContext(keys: readonly string[]): {
  /** Copies the keys' ambient values into `x-context-*` headers (register with `builder.publishFilter`). */
  publish: PublishFilter;
  /** Restores them into the ambient context around the handler (register with `builder.consumeFilter`). */
  consume: ConsumeFilter;
} {
  for (const key of keys) {
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(key)) {
      throw new TypeError(`Context key "${String(key)}" must be letters, digits, "_", "." or "-"`);
    }
  }
  // Lower case: some brokers and proxies fold header names.
  const headerOf = (key: string) => `${CONTEXT_HEADER_PREFIX}${key.toLowerCase()}`;
  return {
    publish: (publishing) => {
      const current = ambientContext.current();
      for (const key of keys) {
        const value = current[key];
        if (value !== undefined && publishing.headers[headerOf(key)] === undefined)
          publishing.headers[headerOf(key)] = value;
      }
    },
    consume: (consuming, next) => {
      const restored: Record<string, string> = {};
      for (const key of keys) {
        const value = consuming.envelope.headers[headerOf(key)];
        if (value !== undefined) restored[key] = value;
      }
      return ambientContext.run(restored, next);
    },
  };
}
