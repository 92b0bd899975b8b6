/**
 * `@herald/contracts`: a service's events as an AsyncAPI 3.0 document, and a
 * check that fails on breaking changes against committed snapshots.
 *
 * @packageDocumentation
 */

export type { CatalogEntry } from './catalog-view.js';
export { catalogEntries } from './catalog-view.js';
export type { ContractFinding, ContractReport, ContractRule } from './check.js';
export { checkContracts } from './check.js';
export type { ContractEvent, ContractModel } from './contract-model.js';
export { readContract } from './contract-model.js';
export type {
  ContractChannel,
  ContractDocument,
  ContractMessage,
  ContractOperation,
  HeraldEventInfo,
} from './document.js';
export { ASYNCAPI_VERSION } from './document.js';
export { envelopeHeadersSchema } from './envelope-headers.js';
export { ContractError } from './errors.js';
export { exportContracts } from './export.js';
export type { JsonSchema, JsonSchemaConverter, PayloadSchema } from './json-schema.js';
export type { ContractSource, ExportOptions } from './options.js';
export { formatReport } from './report.js';
export type { CompatIssue, SchemaChange } from './schema-compat.js';
