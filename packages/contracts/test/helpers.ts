import { Parser } from '@asyncapi/parser';
import {
  createIntegrationEventBus,
  defineEvent,
  type IntegrationEventBusBuilder,
  silentLogger,
} from '@herald/core';
import * as v from 'valibot';
import { z } from 'zod';

/** Published by ordering (zod), with a version 1 → 2 upcaster. */
export const OrderPlaced = defineEvent('ordering.order-placed', {
  version: 2,
  schema: z.object({
    orderId: z.string(),
    total: z.number(),
    status: z.enum(['new', 'paid']),
    note: z.string().optional(),
  }),
  upcasters: { 1: (p: { orderId: string; total: number }) => ({ ...p, status: 'new' }) },
});

/** Published by catalog (valibot). */
export const StockReserved = defineEvent('catalog.stock-reserved', {
  schema: v.object({ sku: v.string(), quantity: v.number(), warehouse: v.optional(v.string()) }),
});

/** No schema at all. */
export const AuditNoted = defineEvent('audit/noted');

/** A builder of the ordering service: publishes OrderPlaced and AuditNoted, handles StockReserved twice. */
export function orderingBuilder(): IntegrationEventBusBuilder {
  return createIntegrationEventBus({ service: 'ordering', logger: silentLogger })
    .publishes(OrderPlaced, AuditNoted)
    .handle(StockReserved, () => {}, { name: 'ordering.reserve' })
    .handle(StockReserved, () => {}, { name: 'ordering.report', group: 'reports' });
}

// One parser for the file: building its rule set is the slow part.
const parser = new Parser();

/** Parses and validates a document with the AsyncAPI parser; returns the error-level diagnostics. */
export async function asyncApiErrors(document: unknown): Promise<string[]> {
  const { diagnostics } = await parser.parse(JSON.stringify(document));
  // Severity 0 is an error (Spectral's DiagnosticSeverity).
  return diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`);
}
