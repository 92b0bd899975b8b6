import { ConfigurationError, MemoryDatabase, type MemoryTransaction, silentLogger } from '@herald/core';
import { describe, expect, it } from 'vitest';
import {
  createUnitOfWorkManager,
  type TransactionRunner,
  type UnitOfWork,
  UnitOfWorkCompletionLoopError,
  UnitOfWorkStateError,
} from '../src/index.js';
import { recordingLogger, sleep } from './helpers.js';

/** A transaction runner that logs begin / commit / rollback around `work`. */
function loggingRunner(log: string[], name = 'tx'): TransactionRunner<{ name: string }> {
  return async (work) => {
    log.push(`begin ${name}`);
    try {
      const result = await work({ name });
      log.push(`commit ${name}`);
      return result;
    } catch (error) {
      log.push(`rollback ${name}`);
      throw error;
    }
  };
}

describe('a unit of work without a transaction', () => {
  it('is ambient inside run only, with tx undefined, and resolves with the result', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    expect(manager.current()).toBeUndefined();
    let seen: UnitOfWork | undefined;
    const result = await manager.run(async (uow) => {
      await sleep(1); // survives an async hop
      seen = manager.current();
      expect(seen).toBe(uow);
      expect(uow.tx).toBeUndefined();
      expect(uow.isTransactional).toBe(false);
      expect(uow.state).toBe('active');
      return 42;
    });
    expect(result).toBe(42);
    expect(seen?.state).toBe('committed');
    expect(manager.current()).toBeUndefined();
  });

  it('runs beforeComplete after the work resolved, then afterCommit', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    const log: string[] = [];
    await manager.run(async (uow) => {
      uow.beforeComplete(async () => {
        log.push(`beforeComplete (${uow.state})`);
      });
      uow.afterCommit(() => {
        log.push(`afterCommit (${uow.state})`);
      });
      log.push('work done');
    });
    expect(log).toEqual(['work done', 'beforeComplete (completing)', 'afterCommit (committed)']);
  });

  it('keeps concurrent units of work apart', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    const ids = await Promise.all(
      [1, 2, 3].map((n) =>
        manager.run(async (uow) => {
          await sleep(5 - n);
          expect(manager.current()).toBe(uow);
          return uow.id;
        }),
      ),
    );
    expect(new Set(ids).size).toBe(3);
  });

  it('accepts a synchronous work function', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    await expect(manager.run(() => 'sync')).resolves.toBe('sync');
    const error = new Error('sync throw');
    await expect(
      manager.run(() => {
        throw error;
      }),
    ).rejects.toBe(error);
  });
});

describe('completion inside the transaction', () => {
  it('runs beforeComplete callbacks inside the transaction and afterCommit after the commit', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ transaction: loggingRunner(log), logger: silentLogger });
    await manager.run(async (uow) => {
      expect(uow.tx).toEqual({ name: 'tx' });
      expect(uow.isTransactional).toBe(true);
      uow.afterCommit(() => {
        log.push('afterCommit');
      });
      uow.beforeComplete(() => {
        log.push('beforeComplete 1');
      });
      uow.beforeComplete(async () => {
        await sleep(1);
        log.push('beforeComplete 2');
      });
      log.push('work');
    });
    expect(log).toEqual([
      'begin tx',
      'work',
      'beforeComplete 1',
      'beforeComplete 2',
      'commit tx',
      'afterCommit',
    ]);
  });

  it('also runs beforeComplete callbacks registered while callbacks run, before the commit', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ transaction: loggingRunner(log), logger: silentLogger });
    await manager.run(async (uow) => {
      uow.beforeComplete(async () => {
        log.push('first');
        // e.g. an in-process handler publishing a follow-up event
        manager.current()!.beforeComplete(async () => {
          log.push('second');
          uow.beforeComplete(() => {
            log.push('third');
          });
        });
      });
      uow.beforeComplete(() => {
        log.push('sibling');
      });
    });
    expect(log).toEqual(['begin tx', 'first', 'sibling', 'second', 'third', 'commit tx']);
  });

  it('turns an endless chain of beforeComplete callbacks into an error and rolls back', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({
      transaction: loggingRunner(log),
      logger: silentLogger,
      maxCompletionCallbacks: 50,
    });
    let runs = 0;
    const again = (uow: UnitOfWork<unknown>) => () => {
      runs++;
      uow.beforeComplete(again(uow));
    };
    const failure = manager.run(async (uow) => {
      uow.beforeComplete(again(uow));
    });
    await expect(failure).rejects.toBeInstanceOf(UnitOfWorkCompletionLoopError);
    expect(runs).toBe(50);
    expect(log).toEqual(['begin tx', 'rollback tx']);
  });
});

describe('failures', () => {
  it('rolls back when the work fails: no beforeComplete, no afterCommit, the same error', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ transaction: loggingRunner(log), logger: silentLogger });
    const error = new Error('business rule violated');
    let seen: UnitOfWork<{ name: string }> | undefined;
    const failure = manager.run(async (uow) => {
      seen = uow;
      uow.beforeComplete(() => {
        log.push('beforeComplete');
      });
      uow.afterCommit(() => {
        log.push('afterCommit');
      });
      uow.onFailure((reason) => {
        log.push(`onFailure: ${(reason as Error).message}`);
      });
      throw error;
    });
    await expect(failure).rejects.toBe(error);
    expect(log).toEqual(['begin tx', 'rollback tx', 'onFailure: business rule violated']);
    expect(seen?.state).toBe('failed');
  });

  it('rolls back when a beforeComplete callback fails and skips the later ones', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ transaction: loggingRunner(log), logger: silentLogger });
    const error = new TypeError('handler failed');
    const failure = manager.run(async (uow) => {
      uow.beforeComplete(async () => {
        log.push('callback 1');
        throw error;
      });
      uow.beforeComplete(() => {
        log.push('callback 2');
      });
      uow.afterCommit(() => {
        log.push('afterCommit');
      });
    });
    await expect(failure).rejects.toBe(error);
    expect(log).toEqual(['begin tx', 'callback 1', 'rollback tx']);
  });

  it('fails when the commit fails, without afterCommit', async () => {
    const log: string[] = [];
    const commitError = new Error('serialization failure');
    const manager = createUnitOfWorkManager({
      transaction: async (work) => {
        await work(undefined);
        throw commitError;
      },
      logger: silentLogger,
    });
    const failure = manager.run(async (uow) => {
      uow.beforeComplete(() => {
        log.push('beforeComplete');
      });
      uow.afterCommit(() => {
        log.push('afterCommit');
      });
      uow.onFailure((error) => {
        log.push(error === commitError ? 'onFailure(commit error)' : 'onFailure(?)');
      });
    });
    await expect(failure).rejects.toBe(commitError);
    expect(log).toEqual(['beforeComplete', 'onFailure(commit error)']);
  });

  it('re-throws the original error even when the runner wraps it', async () => {
    const logger = recordingLogger();
    const manager = createUnitOfWorkManager({
      transaction: async (work) => {
        try {
          return await work(undefined);
        } catch (error) {
          throw new Error('transaction aborted', { cause: error });
        }
      },
      logger,
    });
    const error = new Error('original');
    await expect(
      manager.run(async () => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(logger.entries.map((entry) => entry.level)).toEqual(['warn']);
  });

  it('still fails (and logs) when a broken runner swallows the error', async () => {
    const logger = recordingLogger();
    const manager = createUnitOfWorkManager({
      transaction: (async (work: (tx: undefined) => Promise<unknown>) => {
        await work(undefined).catch(() => undefined);
      }) as TransactionRunner<undefined>,
      logger,
    });
    const log: string[] = [];
    const error = new Error('lost?');
    await expect(
      manager.run(async (uow) => {
        uow.afterCommit(() => {
          log.push('afterCommit');
        });
        throw error;
      }),
    ).rejects.toBe(error);
    expect(log).toEqual([]);
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({ level: 'error' });
  });

  it('rejects with the runner error when the transaction cannot begin', async () => {
    const beginError = new Error('connection refused');
    const manager = createUnitOfWorkManager({
      transaction: async () => {
        throw beginError;
      },
      logger: silentLogger,
    });
    let ran = false;
    await expect(
      manager.run(async () => {
        ran = true;
      }),
    ).rejects.toBe(beginError);
    expect(ran).toBe(false);
  });

  it('rejects with a ConfigurationError when the runner never calls the work', async () => {
    const manager = createUnitOfWorkManager({
      transaction: (async () => undefined) as TransactionRunner<undefined>,
      logger: silentLogger,
    });
    await expect(manager.run(async () => 1)).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('logs afterCommit errors and keeps the unit of work committed', async () => {
    const logger = recordingLogger();
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ transaction: loggingRunner(log), logger });
    const result = await manager.run(async (uow) => {
      uow.afterCommit(() => {
        throw new Error('wake-up failed');
      });
      uow.afterCommit(async () => {
        log.push('second afterCommit still runs');
      });
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(log).toEqual(['begin tx', 'commit tx', 'second afterCommit still runs']);
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({ level: 'error' });
    expect((logger.entries[0]!.context!.error as Error).message).toBe('wake-up failed');
  });

  it('logs onFailure errors and still rejects with the original error', async () => {
    const logger = recordingLogger();
    const manager = createUnitOfWorkManager({ logger });
    const error = new Error('original');
    await expect(
      manager.run(async (uow) => {
        uow.onFailure(() => {
          throw new Error('cleanup failed');
        });
        throw error;
      }),
    ).rejects.toBe(error);
    expect(logger.entries.map((entry) => entry.level)).toEqual(['error']);
  });
});

describe('nesting', () => {
  it('joins the outer unit of work by default: one transaction, one completion', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ transaction: loggingRunner(log), logger: silentLogger });
    await manager.run(async (outer) => {
      const inner = await manager.run(async (uow) => {
        uow.beforeComplete(() => {
          log.push('inner beforeComplete');
        });
        return uow;
      });
      expect(inner).toBe(outer);
      log.push('outer work done');
    });
    expect(log).toEqual(['begin tx', 'outer work done', 'inner beforeComplete', 'commit tx']);
  });

  it('ignores the transaction option of a joining call', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({
      transaction: loggingRunner(log, 'outer'),
      logger: silentLogger,
    });
    await manager.run(async (outer) => {
      await manager.run(
        async (uow) => {
          expect(uow).toBe(outer);
          expect(uow.tx).toEqual({ name: 'outer' });
        },
        { transaction: loggingRunner(log, 'ignored') },
      );
    });
    expect(log).toEqual(['begin outer', 'commit outer']);
  });

  it('begins a separate unit of work with requiresNew, committed independently of the outer one', async () => {
    const log: string[] = [];
    let n = 0;
    const manager = createUnitOfWorkManager({
      transaction: (work) => loggingRunner(log, `tx${++n}`)(work),
      logger: silentLogger,
    });
    const error = new Error('outer fails');
    const failure = manager.run(async (outer) => {
      await manager.run(
        async (inner) => {
          expect(inner).not.toBe(outer);
          expect(inner.outer).toBe(outer);
          expect(inner.tx).toEqual({ name: 'tx2' });
          expect(manager.current()).toBe(inner);
          inner.beforeComplete(() => {
            log.push('inner beforeComplete');
          });
          inner.afterCommit(() => {
            log.push(`inner afterCommit (ambient: ${manager.current() === outer ? 'outer' : 'other'})`);
          });
        },
        { requiresNew: true },
      );
      expect(manager.current()).toBe(outer);
      outer.afterCommit(() => {
        log.push('outer afterCommit');
      });
      throw error;
    });
    await expect(failure).rejects.toBe(error);
    expect(log).toEqual([
      'begin tx1',
      'begin tx2',
      'inner beforeComplete',
      'commit tx2',
      'inner afterCommit (ambient: outer)',
      'rollback tx1',
    ]);
  });

  it('lets a caught inner failure leave the joined unit of work to commit', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ transaction: loggingRunner(log), logger: silentLogger });
    await manager.run(async () => {
      await manager
        .run(async () => {
          throw new Error('inner');
        })
        .catch(() => log.push('caught'));
    });
    expect(log).toEqual(['begin tx', 'caught', 'commit tx']);
  });
});

describe('transaction options', () => {
  it('uses a per-run runner, and transaction: false runs without one', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({
      transaction: loggingRunner(log, 'default'),
      logger: silentLogger,
    });
    await manager.run(async (uow) => expect(uow.tx).toEqual({ name: 'special' }), {
      transaction: loggingRunner(log, 'special'),
    });
    await manager.run(
      async (uow) => {
        expect(uow.tx).toBeUndefined();
        expect(uow.isTransactional).toBe(false);
      },
      { transaction: false },
    );
    expect(log).toEqual(['begin special', 'commit special']);
  });

  it('works with MemoryDatabase.transaction: the tx is typed and commits or rolls back', async () => {
    const db = new MemoryDatabase('app');
    const manager = createUnitOfWorkManager({ transaction: db.transaction.bind(db), logger: silentLogger });
    await manager.run(async ({ tx }) => {
      const typed: MemoryTransaction = tx; // inferred from the runner
      typed.put('orders', 'o-1', { total: 1 });
    });
    await manager
      .run(async ({ tx }) => {
        tx.put('orders', 'o-2', { total: 2 });
        throw new Error('no');
      })
      .catch(() => undefined);
    expect(db.get('orders', 'o-1')).toEqual({ total: 1 });
    expect(db.get('orders', 'o-2')).toBeUndefined();
  });

  it('starts a fresh unit of work each time a retrying runner calls the work again', async () => {
    const log: string[] = [];
    let attempts = 0;
    const transient = Object.assign(new Error('TransientTransactionError'), { transient: true });
    // Like MongoDB's session.withTransaction: re-runs the callback on transient errors.
    const retrying: TransactionRunner<number> = async (work) => {
      for (;;) {
        attempts++;
        try {
          return await work(attempts);
        } catch (error) {
          if ((error as { transient?: boolean }).transient && attempts < 3) continue;
          throw error;
        }
      }
    };
    const manager = createUnitOfWorkManager({ transaction: retrying, logger: silentLogger });
    const seen: UnitOfWork<number>[] = [];
    await manager.run(async (uow) => {
      seen.push(uow);
      uow.beforeComplete(() => {
        log.push(`beforeComplete ${uow.tx}`);
        if (uow.tx < 3) throw transient;
      });
      uow.afterCommit(() => {
        log.push(`afterCommit ${uow.tx}`);
      });
      uow.onFailure(() => {
        log.push(`onFailure ${uow.tx}`);
      });
    });
    expect(log).toEqual([
      'beforeComplete 1',
      'onFailure 1',
      'beforeComplete 2',
      'onFailure 2',
      'beforeComplete 3',
      'afterCommit 3',
    ]);
    expect(seen.map((uow) => uow.state)).toEqual(['failed', 'failed', 'committed']);
    expect(new Set(seen.map((uow) => uow.id)).size).toBe(3);
  });

  it('rejects bad arguments with typed errors', () => {
    expect(() => createUnitOfWorkManager({ transaction: 'nope' as never })).toThrow(ConfigurationError);
    expect(() => createUnitOfWorkManager({ maxCompletionCallbacks: 0 })).toThrow(ConfigurationError);
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    return Promise.all([
      expect(manager.run(async () => 1, { transaction: 42 as never })).rejects.toBeInstanceOf(
        ConfigurationError,
      ),
      expect(manager.run(undefined as never)).rejects.toBeInstanceOf(TypeError),
    ]);
  });
});

describe('finished units of work', () => {
  it('refuses callbacks after it finished, with a clear error', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    const committed = await manager.run(async (uow) => uow);
    expect(() => committed.beforeComplete(async () => undefined)).toThrow(UnitOfWorkStateError);
    expect(() => committed.afterCommit(() => undefined)).toThrow(UnitOfWorkStateError);
    expect(() => committed.onFailure(() => undefined)).toThrow(UnitOfWorkStateError);

    let failed: UnitOfWork | undefined;
    await manager
      .run(async (uow) => {
        failed = uow;
        throw new Error('x');
      })
      .catch(() => undefined);
    expect(() => failed!.beforeComplete(async () => undefined)).toThrow(UnitOfWorkStateError);
    expect(() => failed!.afterCommit(() => undefined)).toThrow(UnitOfWorkStateError);
  });

  it('refuses beforeComplete once the callbacks finished (work that outlived its run)', async () => {
    const log: string[] = [];
    let release!: () => void;
    const manager = createUnitOfWorkManager({
      transaction: async (work) => {
        const result = await work(undefined);
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return result;
      },
      logger: silentLogger,
    });
    let uow!: UnitOfWork;
    const running = manager.run(async (current) => {
      uow = current;
    });
    await sleep(5);
    expect(uow.state).toBe('committing');
    expect(() => uow.beforeComplete(async () => undefined)).toThrow(UnitOfWorkStateError);
    uow.afterCommit(() => {
      log.push('afterCommit registered while committing');
    });
    release();
    await running;
    expect(log).toEqual(['afterCommit registered while committing']);
  });

  it('lets an afterCommit callback register another one and runs callbacks outside the unit of work', async () => {
    const log: string[] = [];
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    await manager.run(async (uow) => {
      uow.afterCommit(() => {
        log.push(`first (ambient: ${manager.current() === undefined ? 'none' : 'uow'})`);
        uow.afterCommit(() => {
          log.push('second');
        });
      });
    });
    expect(log).toEqual(['first (ambient: none)', 'second']);
  });

  it('begins a new unit of work when run is called from a finished one', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    let leaked!: Promise<UnitOfWork>;
    let first!: UnitOfWork;
    let gate!: () => void;
    await manager.run(async (uow) => {
      first = uow;
      // Work that is not awaited keeps the ambient context after the unit finished.
      leaked = new Promise<void>((resolve) => {
        gate = resolve;
      }).then(() => manager.run(async (later) => later));
    });
    gate();
    const later = await leaked;
    expect(later).not.toBe(first);
    expect(later.outer).toBeUndefined();
    expect(later.state).toBe('committed');
  });

  it('requireCurrent throws outside a unit of work', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    expect(() => manager.requireCurrent()).toThrow(UnitOfWorkStateError);
    await manager.run(async (uow) => expect(manager.requireCurrent()).toBe(uow));
  });

  it('keeps items per unit of work', async () => {
    const manager = createUnitOfWorkManager({ logger: silentLogger });
    await manager.run(async (uow) => {
      uow.items.set('user', 'alice');
      await manager.run(async (joined) => expect(joined.items.get('user')).toBe('alice'));
      await manager.run(async (separate) => expect(separate.items.has('user')).toBe(false), {
        requiresNew: true,
      });
    });
  });
});
