/**
 * The PostgreSQL + RabbitMQ pair with a deliberately broken inbox that
 * forgets what it handled (it purges an entry before beginning it again), for
 * `bus-scenarios-broken.test.ts`: the crash scenarios must fail on it. A
 * module of its own because the crash scenarios' child processes import it.
 */
import type { InboxBegin, InboxStore } from '@herald/core';
import type { BusPair } from '@herald/testkit/bus-pair';
import pair from './postgresql-rabbit.js';

function forgetful(inbox: InboxStore): InboxStore {
  const forget = (entries: readonly InboxBegin[]) =>
    inbox.purge!(entries.map(({ messageId, handler }) => ({ messageId, handler })));
  return new Proxy(inbox, {
    get(target, property) {
      if (property === 'beginMany') {
        return async (entries: readonly InboxBegin[], tx?: unknown) => {
          await forget(entries);
          return target.beginMany(entries, tx);
        };
      }
      if (property === 'tryBegin') {
        return async (entry: InboxBegin, tx?: unknown) => {
          await forget([entry]);
          return target.tryBegin(entry, tx);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const broken: BusPair = {
  ...pair,
  name: `${pair.name} (an inbox that forgets)`,
  async createStore(settings) {
    const store = await pair.createStore(settings);
    return { ...store, eventLog: { ...store.eventLog, inbox: forgetful(store.eventLog.inbox!) } };
  },
};

export default broken;
