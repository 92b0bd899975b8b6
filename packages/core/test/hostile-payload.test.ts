import { describe, expect, it } from 'vitest';
import { defineEvent, eventNameOf, instantiate, JsonSerializer } from '../src/index.js';

class AccountOpened {
  static readonly eventName = 'accounts.opened';
  declare readonly accountId: string;
  declare readonly isAdmin?: boolean;
}

/** What a foreign publisher puts on the wire: `__proto__` as a JSON key, at the top and nested. */
const hostileJson =
  '{"__proto__":{"isAdmin":true,"polluted":"yes"},"accountId":"a-1",' +
  '"profile":{"name":"mallory","__proto__":{"isAdmin":true}},' +
  '"tags":[{"__proto__":{"isAdmin":true},"tag":"x"}],' +
  '"constructor":{"eventName":"spoofed"},"prototype":{"isAdmin":true}}';

function decode(json: string): unknown {
  return new JsonSerializer().deserialize(new TextEncoder().encode(json));
}

describe('a payload with __proto__, constructor or prototype keys', () => {
  it('is really hostile: JSON.parse keeps __proto__ as an own key that Object.assign would follow', () => {
    const parsed = decode(hostileJson) as object;
    expect(Object.keys(parsed)).toContain('__proto__');
    const assigned = Object.assign(Object.create(AccountOpened.prototype), parsed);
    expect(assigned).not.toBeInstanceOf(AccountOpened);
    expect(assigned.isAdmin).toBe(true);
  });

  it('instantiate keeps the class, inherits nothing from the payload and drops the keys at every depth', () => {
    const event = instantiate(AccountOpened, decode(hostileJson)) as AccountOpened & Record<string, any>;
    expect(event).toBeInstanceOf(AccountOpened);
    expect(Object.getPrototypeOf(event)).toBe(AccountOpened.prototype);
    expect(event.accountId).toBe('a-1');
    expect(event.isAdmin).toBeUndefined();
    expect(event.polluted).toBeUndefined();
    expect(Object.keys(event).sort()).toEqual(['accountId', 'profile', 'tags']);
    expect(eventNameOf(event)).toBe('accounts.opened');
    expect(event.constructor).toBe(AccountOpened);

    expect(Object.getPrototypeOf(event.profile)).toBe(Object.prototype);
    expect(Object.keys(event.profile)).toEqual(['name']);
    expect(Object.keys(event.tags[0])).toEqual(['tag']);
    // A handler copying a nested object the usual way must not be hijacked either.
    expect(Object.assign({}, event.profile).isAdmin).toBeUndefined();
    expect(Object.assign({}, event.tags[0]).isAdmin).toBeUndefined();

    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a defineEvent class constructed from untrusted data is protected the same way', () => {
    const Opened = defineEvent<{ accountId: string; isAdmin?: boolean }>('accounts.opened-defined');
    const event = new Opened(decode(hostileJson) as { accountId: string });
    expect(event).toBeInstanceOf(Opened);
    expect(event.accountId).toBe('a-1');
    expect(event.isAdmin).toBeUndefined();
    expect(eventNameOf(event)).toBe('accounts.opened-defined');
  });

  it('leaves clean payloads and class instances as they are', () => {
    const when = new Date(0);
    const nested = { when, list: [1, 2] };
    const event = instantiate(AccountOpened, { accountId: 'b', nested }) as AccountOpened &
      Record<string, any>;
    expect(event.nested).toBe(nested);
    expect(event.nested.when).toBe(when);
  });
});
