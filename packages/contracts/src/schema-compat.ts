import type { JsonSchema } from './json-schema.js';

/** Where values a producer may send could be refused by what a consumer declares. */
export interface CompatIssue {
  /** `orderId`, `lines[].sku`, or `(payload)`. */
  readonly path: string;
  /**
   * `missing`: the consumer declares the field, the producer does not (`required` says if the consumer requires it);
   * `optional`: the consumer requires it, the producer may leave it out; `type`: other JSON types;
   * `enum`: values the consumer does not accept; `closed`: a field the consumer's closed object refuses.
   */
  readonly kind: 'missing' | 'optional' | 'type' | 'enum' | 'closed';
  /** Only for `missing`: whether the consumer requires the field (else it only reads it when present). */
  readonly required?: boolean;
  /** What the producer may send against what the consumer accepts, as a sentence ("the consumer" stands for it). */
  readonly detail: string;
}

/** How one version of a producer's schema differs from its previous one. */
export interface SchemaChange {
  /** The field (`orderId`, `lines[].sku`), or `(payload)` for the payload itself. */
  readonly path: string;
  /** `required-added` also covers an optional field becoming required. */
  readonly kind: 'required-added' | 'removed' | 'retyped' | 'enum-narrowed' | 'made-optional';
  /** The change as a sentence (the types or values before and after). */
  readonly detail: string;
}

type Schema = JsonSchema | undefined;

/** Lists what `produced` may send that `accepted` (a consumer's view of the same event) refuses. */
export function unaccepted(produced: Schema, accepted: Schema, path = ''): CompatIssue[] {
  if (!accepted || !produced) return [];
  const issues: CompatIssue[] = [];
  const at = path || '(payload)';
  const typesC = typesOf(accepted);
  if (typesC) {
    const typesP = typesOf(produced);
    if (!typesP) {
      issues.push({
        path: at,
        kind: 'type',
        detail: `any value is sent; the consumer accepts ${list(typesC)}`,
      });
      return issues;
    }
    const foreign = [...typesP].filter((t) => !admits(typesC, t));
    if (foreign.length > 0) {
      issues.push({
        path: at,
        kind: 'type',
        detail: `${list(typesP)} is sent; the consumer accepts ${list(typesC)}`,
      });
      return issues;
    }
  }
  const valuesC = valuesOf(accepted);
  if (valuesC) {
    const valuesP = valuesOf(produced);
    const refused = valuesP ? valuesP.filter((value) => !includes(valuesC, value)) : undefined;
    if (!valuesP) {
      issues.push({
        path: at,
        kind: 'enum',
        detail: `any value is sent; the consumer accepts only ${show(valuesC)}`,
      });
    } else if (refused && refused.length > 0) {
      issues.push({
        path: at,
        kind: 'enum',
        detail: `${show(refused)} may be sent; the consumer accepts only ${show(valuesC)}`,
      });
    }
  }
  const objectC = objectPart(accepted);
  const objectP = objectPart(produced);
  if (objectC && objectP) {
    const propsC = propertiesOf(objectC);
    const propsP = propertiesOf(objectP);
    const requiredC = requiredOf(objectC);
    const requiredP = requiredOf(objectP);
    for (const [key, schemaC] of Object.entries(propsC)) {
      const field = join(path, key);
      const schemaP = propsP[key];
      if (!schemaP) {
        const required = requiredC.has(key);
        issues.push({
          path: field,
          kind: 'missing',
          required,
          detail: `the consumer ${required ? 'requires' : 'reads'} it; it is not sent`,
        });
        continue;
      }
      if (requiredC.has(key) && !requiredP.has(key)) {
        issues.push({
          path: field,
          kind: 'optional',
          detail: 'the consumer requires it; it may be left out',
        });
      }
      issues.push(...unaccepted(schemaP, schemaC, field));
    }
    if (objectC.additionalProperties === false) {
      for (const key of Object.keys(propsP)) {
        if (!(key in propsC)) {
          issues.push({
            path: join(path, key),
            kind: 'closed',
            detail: 'it is sent; the consumer refuses unknown fields',
          });
        }
      }
    }
  }
  const itemsC = itemsOf(accepted);
  const itemsP = itemsOf(produced);
  if (itemsC && itemsP) issues.push(...unaccepted(itemsP, itemsC, `${path || ''}[]`));
  return issues;
}

/** Lists how `next` (the current schema of an event) changed from `previous` (its snapshot). */
export function changes(previous: Schema, next: Schema, path = ''): SchemaChange[] {
  if (!previous || !next) return [];
  const found: SchemaChange[] = [];
  const at = path || '(payload)';
  const typesBefore = typesOf(previous);
  const typesNow = typesOf(next);
  if (typesBefore && typesNow && !sameSet(typesBefore, typesNow)) {
    found.push({ path: at, kind: 'retyped', detail: `was ${list(typesBefore)}, is ${list(typesNow)}` });
    return found;
  }
  const valuesBefore = valuesOf(previous);
  const valuesNow = valuesOf(next);
  if (valuesNow) {
    const dropped = valuesBefore ? valuesBefore.filter((value) => !includes(valuesNow, value)) : undefined;
    if (!valuesBefore) {
      found.push({
        path: at,
        kind: 'enum-narrowed',
        detail: `any value was allowed; now only ${show(valuesNow)}`,
      });
    } else if (dropped && dropped.length > 0) {
      found.push({
        path: at,
        kind: 'enum-narrowed',
        detail: `${show(dropped)} no longer allowed (now ${show(valuesNow)})`,
      });
    }
  }
  const objectBefore = objectPart(previous);
  const objectNow = objectPart(next);
  if (objectBefore && objectNow) {
    const propsBefore = propertiesOf(objectBefore);
    const propsNow = propertiesOf(objectNow);
    const requiredBefore = requiredOf(objectBefore);
    const requiredNow = requiredOf(objectNow);
    for (const [key, before] of Object.entries(propsBefore)) {
      const field = join(path, key);
      const now = propsNow[key];
      if (!now) {
        found.push({ path: field, kind: 'removed', detail: 'removed' });
        continue;
      }
      if (requiredBefore.has(key) && !requiredNow.has(key)) {
        found.push({ path: field, kind: 'made-optional', detail: 'was required, is optional' });
      }
      if (!requiredBefore.has(key) && requiredNow.has(key)) {
        found.push({ path: field, kind: 'required-added', detail: 'was optional, is required' });
      }
      found.push(...changes(before, now, field));
    }
    for (const key of Object.keys(propsNow)) {
      if (!(key in propsBefore) && requiredNow.has(key)) {
        found.push({ path: join(path, key), kind: 'required-added', detail: 'new required field' });
      }
    }
  }
  const itemsBefore = itemsOf(previous);
  const itemsNow = itemsOf(next);
  if (itemsBefore && itemsNow) found.push(...changes(itemsBefore, itemsNow, `${path || ''}[]`));
  return found;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const list = (types: ReadonlySet<string>) => [...types].sort().join(' | ');
const show = (values: readonly unknown[]) => values.map((value) => JSON.stringify(value)).join(', ');
const includes = (values: readonly unknown[], value: unknown) =>
  values.some((candidate) => JSON.stringify(candidate) === JSON.stringify(value));
const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
  a.size === b.size && [...a].every((t) => b.has(t));
/** `integer` values are `number`s too. */
const admits = (types: ReadonlySet<string>, type: string) =>
  types.has(type) || (type === 'integer' && types.has('number'));

function branches(schema: JsonSchema): JsonSchema[] | undefined {
  const list = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(list) ? list : undefined;
}

/** The JSON types a schema allows; undefined when it does not constrain them. */
function typesOf(schema: JsonSchema): Set<string> | undefined {
  if (typeof schema.type === 'string') return new Set([schema.type]);
  if (Array.isArray(schema.type)) return new Set(schema.type as string[]);
  const values = valuesOf(schema);
  if (values) return new Set(values.map(jsonType));
  const options = branches(schema);
  if (options) {
    const union = new Set<string>();
    for (const option of options) {
      const types = typesOf(option);
      if (!types) return undefined;
      for (const type of types) union.add(type);
    }
    return union;
  }
  if (schema.properties) return new Set(['object']);
  return undefined;
}

/** The values an `enum` / `const` allows (through `anyOf` branches, `null` included); undefined when open. */
function valuesOf(schema: JsonSchema): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum as unknown[];
  if ('const' in schema) return [schema.const];
  const options = branches(schema);
  if (!options) return undefined;
  const values: unknown[] = [];
  for (const option of options) {
    const own = Array.isArray(option.enum)
      ? (option.enum as unknown[])
      : 'const' in option
        ? [option.const]
        : undefined;
    if (own) values.push(...own);
    else if (option.type === 'null') values.push(null);
    else return undefined;
  }
  return values;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function objectPart(schema: JsonSchema): JsonSchema | undefined {
  if (schema.properties || schema.type === 'object') return schema;
  return branches(schema)?.find((option) => option.properties || option.type === 'object');
}

function itemsOf(schema: JsonSchema): JsonSchema | undefined {
  const holder = schema.items ? schema : branches(schema)?.find((option) => option.items);
  const items = holder?.items;
  return items && typeof items === 'object' && !Array.isArray(items) ? (items as JsonSchema) : undefined;
}

function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> {
  return (schema.properties ?? {}) as Record<string, JsonSchema>;
}

function requiredOf(schema: JsonSchema): Set<string> {
  return new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
}
