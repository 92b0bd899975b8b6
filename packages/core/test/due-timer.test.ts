import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DueTimer } from '../src/runtime/due-timer.js';

describe('DueTimer', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('fires at each scheduled time in order, whatever order they were asked in, with one timer', () => {
    const fired: number[] = [];
    const timer = new DueTimer(() => fired.push(Date.now()));
    const start = Date.now();
    timer.at(start + 60);
    timer.at(start + 10);
    timer.at(start + 30);
    timer.at(start + 30); // the same time twice: one wake-up
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(15);
    expect(fired).toHaveLength(1);
    vi.advanceTimersByTime(20);
    expect(fired).toHaveLength(2);
    vi.advanceTimersByTime(30);
    expect(fired).toHaveLength(3);
    expect(fired.map((at) => at - start)).toEqual([11, 31, 61]);
    vi.advanceTimersByTime(1_000);
    expect(fired).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('serves every time already due with one call, and a past time at once', () => {
    let calls = 0;
    const timer = new DueTimer(() => void calls++);
    const start = Date.now();
    timer.at(start + 20);
    timer.at(start + 21);
    vi.advanceTimersByTime(100);
    expect(calls).toBe(1);
    timer.at(start - 1_000);
    vi.advanceTimersByTime(1);
    expect(calls).toBe(2);
  });

  it('cancel forgets every scheduled time', () => {
    let calls = 0;
    const timer = new DueTimer(() => void calls++);
    timer.at(Date.now() + 10);
    timer.at(Date.now() + 20);
    timer.cancel();
    vi.advanceTimersByTime(100);
    expect(calls).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps a bounded number of times: the latest beyond the bound are left to polling', () => {
    let calls = 0;
    const timer = new DueTimer(() => void calls++);
    const start = Date.now();
    for (let i = 1; i <= 1_100; i++) timer.at(start + i * 10);
    vi.advanceTimersByTime(1_100 * 10 + 100);
    expect(calls).toBe(1_024);
  });
});
