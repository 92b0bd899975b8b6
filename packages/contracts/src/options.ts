import type { EventCatalog, TransportNaming } from '@herald/core';
import type { JsonSchemaConverter } from './json-schema.js';

/** Anything that can list its events: a built bus or a builder (`bus.catalog()`, `builder.catalog()`). */
export interface ContractSource {
  /** The events the service publishes and handles, with their handlers and the transport's naming; connects nothing. */
  catalog(): EventCatalog;
}

/** Options of {@link exportContracts}. */
export interface ExportOptions {
  /** `info.version`: the release of the service the contract describes. Default `1.0.0`. */
  readonly version?: string;
  /** `info.title`. Default: the service name. */
  readonly title?: string;
  /** `info.description`. */
  readonly description?: string;
  /**
   * How channels and consumer groups are named. Default: the transport's own
   * `naming`; for a transport without one, event names and group names as they are.
   */
  readonly naming?: TransportNaming;
  /** A converter tried before the built-in ones (Standard JSON Schema, zod 4, valibot). */
  readonly toJsonSchema?: JsonSchemaConverter;
}
