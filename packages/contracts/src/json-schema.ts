import type { EventDescriptor, StandardSchemaV1 } from '@herald/core';

/** A JSON Schema object (draft-07, the dialect AsyncAPI 3.0 schemas build on). */
export type JsonSchema = { readonly [key: string]: unknown };

/**
 * Turns an event's Standard Schema into JSON Schema; return `undefined` when
 * it cannot. Tried before the built-in converters (see {@link ExportOptions}).
 */
export type JsonSchemaConverter = (
  schema: StandardSchemaV1,
  event: EventDescriptor,
) => JsonSchema | undefined | Promise<JsonSchema | undefined>;

/** How an event's payload schema came out. */
export type PayloadSchema =
  | {
      /** Converted: `schema` describes the payload. */
      readonly kind: 'json-schema';
      /** The schema library (`zod`, `valibot`, …), from its Standard Schema `vendor`. */
      readonly vendor: string;
      /** The payload's JSON Schema (input side, without `$schema`). */
      readonly schema: JsonSchema;
    }
  /** The event declares no schema: its payload is not validated and not described. */
  | {
      /** No schema declared. */
      readonly kind: 'none';
    }
  /** The event has a schema whose library no converter understands. */
  | {
      /** A schema exists but could not be converted. */
      readonly kind: 'unconvertible';
      /** The schema library (`zod`, `valibot`, …), from its Standard Schema `vendor`. */
      readonly vendor: string;
      /** Why: no converter for the vendor, or the converter's error message. */
      readonly reason: string;
    };

/** The Standard JSON Schema extension (zod ≥ 4.2, arktype and others implement it). */
interface StandardJsonSchemaProps {
  readonly jsonSchema?: { readonly input?: (options: { target: string }) => Record<string, unknown> };
}

/**
 * The JSON Schema of what a receiving validator accepts (the schema's input
 * side: a field with a default is optional on the wire).
 */
export async function payloadSchemaOf(
  event: EventDescriptor,
  custom: JsonSchemaConverter | undefined,
): Promise<PayloadSchema> {
  const schema = event.schema;
  if (!schema) return { kind: 'none' };
  const vendor = schema['~standard'].vendor;
  try {
    const converted = (await custom?.(schema, event)) ?? (await builtIn(schema, vendor));
    if (converted) return { kind: 'json-schema', vendor, schema: withoutDialect(converted) };
    return {
      kind: 'unconvertible',
      vendor,
      reason: `no JSON Schema converter for "${vendor}" schemas: pass exportContracts({ toJsonSchema })`,
    };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { kind: 'unconvertible', vendor, reason: `the ${vendor} converter failed: ${reason}` };
  }
}

async function builtIn(schema: StandardSchemaV1, vendor: string): Promise<JsonSchema | undefined> {
  const standard = schema['~standard'] as StandardSchemaV1['~standard'] & StandardJsonSchemaProps;
  if (typeof standard.jsonSchema?.input === 'function')
    return standard.jsonSchema.input({ target: 'draft-07' });
  if (vendor === 'zod' && '_zod' in schema) {
    // zod 4.0 / 4.1: no Standard JSON Schema yet, but `z.toJSONSchema`.
    const zod = (await optionalImport('zod')) as { toJSONSchema?: (s: unknown, o: object) => JsonSchema };
    return zod?.toJSONSchema?.(schema, { io: 'input', target: 'draft-7', unrepresentable: 'any' });
  }
  if (vendor === 'valibot') {
    const valibot = (await optionalImport('@valibot/to-json-schema')) as {
      toJsonSchema?: (s: unknown, o: object) => JsonSchema;
    };
    if (!valibot?.toJsonSchema) {
      throw new Error('install "@valibot/to-json-schema" to describe valibot schemas');
    }
    return valibot.toJsonSchema(schema, { errorMode: 'ignore', typeMode: 'input' });
  }
  return undefined;
}

/** Imports an optional peer dependency; undefined when it is not installed. */
async function optionalImport(name: string): Promise<unknown> {
  try {
    return await import(name);
  } catch {
    return undefined;
  }
}

/** AsyncAPI schemas carry no `$schema` of their own: the document says which dialect. */
function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}
