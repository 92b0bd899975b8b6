import { readContract } from './contract-model.js';
import type { JsonSchema } from './json-schema.js';

/** One event across the contracts of several services, as the console's catalog shows it. */
export interface CatalogEntry {
  /** The event's name, as every contract names it. */
  readonly name: string;
  /** Every version a producer or consumer declares, ascending. */
  readonly versions: readonly number[];
  /** The payload schema (a producer's when one sends it); undefined when none is described. */
  readonly schema: JsonSchema | undefined;
  /** `none` / `unconvertible` when no JSON Schema could be shown. */
  readonly schemaKind: 'json-schema' | 'none' | 'unconvertible';
  /** Versions with an upcaster to the next, per the producer's (else a consumer's) definition. */
  readonly upcasters: readonly number[];
  /** The services that publish the event, in the order of the documents given; empty when none does. */
  readonly producers: readonly {
    /** The publishing service (`info.x-herald-service` of its contract). */
    readonly service: string;
    /** The payload version it sends. */
    readonly version: number;
  }[];
  /** One entry per handler of the event, across all services; empty when nobody handles it. */
  readonly consumers: readonly {
    /** The service the handler runs in. */
    readonly service: string;
    /** The handler's stable name. */
    readonly handler: string;
    /** The consumer group the handler receives through. */
    readonly group: string;
    /** The payload version the handler reads (older versions reach it through upcasters). */
    readonly version: number;
  }[];
}

/** Merges contract documents (this service's and others' snapshots) into one entry per event, sorted by name. */
export function catalogEntries(documents: readonly unknown[]): CatalogEntry[] {
  const entries = new Map<
    string,
    { -readonly [K in keyof CatalogEntry]: CatalogEntry[K] } & { fromProducer: boolean }
  >();
  for (const [i, document] of documents.entries()) {
    const model = readContract(document, `contract #${i + 1}`);
    for (const [name, event] of model.events) {
      const entry = entries.get(name) ?? {
        name,
        versions: [],
        schema: undefined,
        schemaKind: 'none' as const,
        upcasters: [],
        producers: [],
        consumers: [],
        fromProducer: false,
      };
      const { version } = event.info;
      if (!entry.versions.includes(version))
        entry.versions = [...entry.versions, version].sort((a, b) => a - b);
      // A producer's definition wins: it is what travels.
      if (entry.schemaKind === 'none' || (event.sent && !entry.fromProducer)) {
        entry.schema = event.payload;
        entry.schemaKind = event.info.schema;
        entry.upcasters = event.info.upcasters;
        entry.fromProducer = event.sent;
      }
      if (event.sent) entry.producers = [...entry.producers, { service: model.service, version }];
      entry.consumers = [
        ...entry.consumers,
        ...event.handlers.map((h) => ({ service: model.service, handler: h.name, group: h.group, version })),
      ];
      entries.set(name, entry);
    }
  }
  return [...entries.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map(({ fromProducer: _, ...entry }) => entry);
}
