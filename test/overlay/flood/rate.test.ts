import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CUT_FACTOR, QueryBudget } from '../../../src/overlay/flood/rate.js';

/*
 * The per-neighbour query budget (rate.ts) on a clock the test sets: a
 * burst at once, then the rate; drops beyond it; a neighbour that keeps
 * sending well over twice the rate is to be cut off, one that sends just
 * over it is not.
 */

describe('QueryBudget', () => {
  it('accepts a burst at once, then queries at the rate', () => {
    const b = new QueryBudget(10, 3, 0);
    assert.deepEqual([0, 0, 0, 0].map((t) => b.take(t)), ['accept', 'accept', 'accept', 'drop']);
    assert.equal(b.take(50), 'drop', 'half a token back');
    assert.equal(b.take(100), 'accept', 'a whole one');
    assert.deepEqual([10_000, 10_000, 10_000, 10_000].map((t) => b.take(t)), ['accept', 'accept', 'accept', 'drop'], 'never more than the burst');
  });

  it('cuts off a neighbour whose drops pile past CUT_FACTOR bursts, not one just over the rate', () => {
    const flooder = new QueryBudget(10, 3, 0);
    const verdicts = Array.from({ length: 3 + CUT_FACTOR * 3 + 1 }, () => flooder.take(0));
    assert.deepEqual(verdicts.slice(-2), ['drop', 'cut']);
    // 15 a second against 10: a third dropped, and the pile drains as fast as it grows.
    const eager = new QueryBudget(10, 3, 0);
    const seen = new Set<string>();
    for (let i = 0; i < 1500; i++) seen.add(eager.take((i * 1000) / 15));
    assert.deepEqual([...seen].sort(), ['accept', 'drop']);
  });
});
