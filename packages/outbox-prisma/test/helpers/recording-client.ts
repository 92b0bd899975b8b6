import type { PrismaClientLike } from '../../src/index.js';

/** One raw statement a store sent. */
export interface RecordedStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/**
 * Wraps a Prisma client so every raw statement the stores send (also inside
 * interactive transactions) is recorded; the tests EXPLAIN exactly those.
 */
export function recordingClient(prisma: PrismaClientLike, into: RecordedStatement[]): PrismaClientLike {
  const wrap = <T extends object>(client: T): T =>
    new Proxy(client, {
      get(target, property) {
        if (property === '$queryRawUnsafe' || property === '$executeRawUnsafe') {
          return (sql: string, ...params: unknown[]) => {
            into.push({ sql, params });
            return (target as Record<string, (...args: unknown[]) => unknown>)[property]!(sql, ...params);
          };
        }
        if (property === '$transaction') {
          return (work: (tx: object) => Promise<unknown>, options?: unknown) =>
            (target as unknown as PrismaClientLike).$transaction(
              (tx: object) => work(wrap(tx)),
              options as never,
            );
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return wrap(prisma);
}
