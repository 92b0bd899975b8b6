import { ConfigurationError } from '@herald/core';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresTestDatabaseUrl, testDatabaseName } from '../src/engines/index.js';

// The namespace keeps two checkouts' test databases apart; without it they truncate each other's tables.
describe('testDatabaseName', () => {
  const saved = process.env.HERALD_TEST_NAMESPACE;
  afterEach(() => {
    if (saved === undefined) delete process.env.HERALD_TEST_NAMESPACE;
    else process.env.HERALD_TEST_NAMESPACE = saved;
  });

  it('is the name itself when HERALD_TEST_NAMESPACE is unset', () => {
    delete process.env.HERALD_TEST_NAMESPACE;
    expect(testDatabaseName('herald_outbox_prisma_test')).toBe('herald_outbox_prisma_test');
  });

  it('appends the namespace, folded to characters safe in SQL names', () => {
    process.env.HERALD_TEST_NAMESPACE = 'Wt-Shape2';
    expect(testDatabaseName('herald_lock_redis')).toBe('herald_lock_redis_wt_shape2');
    expect(postgresTestDatabaseUrl('herald_lock_redis', 'postgres://u:p@127.0.0.1:5432/herald')).toBe(
      'postgres://u:p@127.0.0.1:5432/herald_lock_redis_wt_shape2',
    );
  });

  it('refuses names that are not [a-z0-9_] or too long for PostgreSQL', () => {
    delete process.env.HERALD_TEST_NAMESPACE;
    expect(() => testDatabaseName('x"; DROP DATABASE herald; --')).toThrow(ConfigurationError);
    process.env.HERALD_TEST_NAMESPACE = 'n'.repeat(60);
    expect(() => testDatabaseName('herald_entity_sync')).toThrow(ConfigurationError);
  });
});
