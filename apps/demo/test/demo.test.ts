import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/main.js';

describe('demo', () => {
  it('handles every committed event exactly once per subscriber', async () => {
    const ledger = await runDemo({ products: 10, orders: 40, quiet: true });
    expect(ledger).toEqual({ published: 50, handled: 50, duplicates: 0, lost: 0 });
  });
});
