import { ConfigurationError } from '@herald/core';

/** Longest identifier PostgreSQL keeps (MariaDB allows 64): longer names would be cut silently. */
const MAX_NAME_LENGTH = 63;
const SAFE_NAME = /^[a-z0-9_]+$/;

/**
 * The namespace from `HERALD_TEST_NAMESPACE`, folded to `[a-z0-9_]` so it is safe in database,
 * vhost and topic names; `''` when unset.
 */
export function testNamespace(): string {
  const raw = process.env.HERALD_TEST_NAMESPACE?.trim() ?? '';
  return raw.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The name a test file's database (or other engine resource) gets: `name`, plus `_<namespace>`
 * when `HERALD_TEST_NAMESPACE` is set.
 *
 * @throws ConfigurationError when `name` is not `[a-z0-9_]+` (it goes into SQL unquoted by the
 *   engine's rules) or the result would be longer than 63 characters.
 */
export function testDatabaseName(name: string): string {
  if (!SAFE_NAME.test(name)) {
    throw new ConfigurationError(`Test database name "${name}" must match ${SAFE_NAME}`);
  }
  const namespace = testNamespace();
  const full = namespace === '' ? name : `${name}_${namespace}`;
  if (full.length > MAX_NAME_LENGTH) {
    throw new ConfigurationError(
      `Test database name "${full}" is longer than ${MAX_NAME_LENGTH} characters; shorten HERALD_TEST_NAMESPACE`,
    );
  }
  return full;
}
