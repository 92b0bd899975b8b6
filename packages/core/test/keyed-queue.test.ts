import { describe, expect, it } from 'vitest';
import { KeyedQueue, sleep } from '../src/index.js';

/** Records when tasks start and end, and the most tasks of one key that ever ran at once. */
function tracker() {
  const events: string[] = [];
  const running = new Map<string, number>();
  const peakPerKey = new Map<string, number>();
  let runningTotal = 0;
  let peakTotal = 0;
  const task =
    (key: string, label: string, ms: number, fail = false) =>
    async () => {
      const now = (running.get(key) ?? 0) + 1;
      running.set(key, now);
      peakPerKey.set(key, Math.max(peakPerKey.get(key) ?? 0, now));
      peakTotal = Math.max(peakTotal, ++runningTotal);
      events.push(`start ${label}`);
      await sleep(ms);
      events.push(`end ${label}`);
      running.set(key, running.get(key)! - 1);
      runningTotal--;
      if (fail) throw new Error(`${label} failed`);
      return label;
    };
  return { events, peakPerKey, peakTotal: () => peakTotal, task };
}

describe('KeyedQueue', () => {
  it('runs the tasks of one key one at a time in submission order, slow ones first or not', async () => {
    const queue = new KeyedQueue(8);
    const t = tracker();
    const results = await Promise.all([
      queue.run('a', t.task('a', 'a1', 40)),
      queue.run('a', t.task('a', 'a2', 1)),
      queue.run('a', t.task('a', 'a3', 20)),
      queue.run('a', t.task('a', 'a4', 0)),
    ]);
    expect(results).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(t.events).toEqual([
      'start a1',
      'end a1',
      'start a2',
      'end a2',
      'start a3',
      'end a3',
      'start a4',
      'end a4',
    ]);
    expect(t.peakPerKey.get('a')).toBe(1);
  });

  it('lets different keys overlap while each key stays in order', async () => {
    const queue = new KeyedQueue(8);
    const t = tracker();
    await Promise.all([
      queue.run('a', t.task('a', 'a1', 40)),
      queue.run('b', t.task('b', 'b1', 5)),
      queue.run('a', t.task('a', 'a2', 1)),
      queue.run('b', t.task('b', 'b2', 5)),
      queue.run(undefined, t.task('none', 'n1', 5)),
    ]);
    const order = (label: string) => t.events.indexOf(label);
    // b and the unkeyed task finished while a1 was still running.
    expect(order('end b2')).toBeLessThan(order('end a1'));
    expect(order('end n1')).toBeLessThan(order('end a1'));
    expect(order('start a2')).toBeGreaterThan(order('end a1'));
    expect(order('start b2')).toBeGreaterThan(order('end b1'));
    expect(t.peakPerKey.get('a')).toBe(1);
    expect(t.peakPerKey.get('b')).toBe(1);
    expect(t.peakTotal()).toBeGreaterThan(1);
  });

  it('a failing task rejects its own promise and the key goes on with the next task', async () => {
    const queue = new KeyedQueue(4);
    const t = tracker();
    const first = queue.run('a', t.task('a', 'a1', 10, true));
    const second = queue.run('a', t.task('a', 'a2', 0));
    await expect(first).rejects.toThrow('a1 failed');
    await expect(second).resolves.toBe('a2');
    expect(t.events).toEqual(['start a1', 'end a1', 'start a2', 'end a2']);
  });

  it('never runs more than its concurrency across keys, and onIdle waits for everything', async () => {
    const queue = new KeyedQueue(2);
    const t = tracker();
    for (const key of ['a', 'b', 'c', 'd', 'e']) void queue.run(key, t.task(key, key, 5));
    expect(queue.size).toBe(5);
    await queue.onIdle();
    expect(queue.size).toBe(0);
    expect(t.peakTotal()).toBe(2);
    expect(t.events.filter((event) => event.startsWith('end'))).toHaveLength(5);
  });
});
