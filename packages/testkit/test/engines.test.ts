import { ConfigurationError } from '@herald/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deleteTopicsStartingWith,
  postgresTestDatabaseUrl,
  type TopicAdmin,
  testDatabaseName,
} from '../src/engines/index.js';

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

describe('deleteTopicsStartingWith', () => {
  function fakeAdmin(topics: string[], failList = false) {
    const calls: string[] = [];
    const admin: TopicAdmin = {
      async connect() {
        calls.push('connect');
      },
      async listTopics() {
        calls.push('list');
        if (failList) throw new Error('broker gone');
        return topics;
      },
      async deleteTopics({ topics: doomed }) {
        calls.push(`delete ${doomed.join(',')}`);
      },
      async disconnect() {
        calls.push('disconnect');
      },
    };
    return { admin, calls };
  }

  it("deletes only the topics with the run's prefix, then disconnects", async () => {
    const { admin, calls } = fakeAdmin(['run-1.a', 'other.a', 'run-1.a.dlq', 'xrun-1.b']);
    await deleteTopicsStartingWith(admin, 'run-1.');
    expect(calls).toEqual(['connect', 'list', 'delete run-1.a,run-1.a.dlq', 'disconnect']);
  });

  it('deletes nothing when no topic has the prefix', async () => {
    const { admin, calls } = fakeAdmin(['other.a']);
    await deleteTopicsStartingWith(admin, 'run-1.');
    expect(calls).toEqual(['connect', 'list', 'disconnect']);
  });

  it('disconnects when listing fails, and passes the error on', async () => {
    const { admin, calls } = fakeAdmin([], true);
    await expect(deleteTopicsStartingWith(admin, 'run-1.')).rejects.toThrow('broker gone');
    expect(calls).toEqual(['connect', 'list', 'disconnect']);
  });
});
