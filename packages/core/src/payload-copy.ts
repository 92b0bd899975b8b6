/**
 * Keys a received payload may not carry into an event instance. `JSON.parse`
 * creates `__proto__` as an ordinary own property, and any later
 * `Object.assign` or `target[key] = value` would hit the prototype setter and
 * swap the target's prototype for attacker data; `constructor` and `prototype`
 * would shadow what Herald and handlers read from the class (`eventNameOf`
 * uses `event.constructor`). They are dropped at every depth.
 */
const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Returns `value` without {@link UNSAFE_KEYS} in any plain object or array it
 * contains. Objects that hold no such key are returned as they are (no copy);
 * class instances (a schema's `Date`, say) are left alone.
 */
export function withoutUnsafeKeys<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = withoutUnsafeKeys(value[i]);
      if (item !== value[i]) {
        copy ??= value.slice();
        copy[i] = item;
      }
    }
    return (copy ?? value) as T;
  }
  if (!isPlainObject(value)) return value;
  let changed = false;
  const entries: Array<[string, unknown]> = [];
  for (const key of Object.keys(value)) {
    if (UNSAFE_KEYS.has(key)) {
      changed = true;
      continue;
    }
    const original = (value as Record<string, unknown>)[key];
    const cleaned = withoutUnsafeKeys(original);
    if (cleaned !== original) changed = true;
    entries.push([key, cleaned]);
  }
  if (!changed) return value;
  const copy = Object.create(Object.getPrototypeOf(value)) as Record<string, unknown>;
  for (const [key, item] of entries) defineData(copy, key, item);
  return copy as T;
}

/**
 * Copies the own enumerable properties of `source` onto `target` as data
 * properties (define, never set: no setter of `target` or its prototype runs),
 * leaving out {@link UNSAFE_KEYS} at every depth.
 */
export function copyPayloadInto(target: object, source: unknown): void {
  if (source === null || typeof source !== 'object') return;
  for (const key of Object.keys(source)) {
    if (UNSAFE_KEYS.has(key)) continue;
    defineData(target, key, withoutUnsafeKeys((source as Record<string, unknown>)[key]));
  }
}

function defineData(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
