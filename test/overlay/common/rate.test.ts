import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateBudget } from '../../../src/overlay/common/rate.js';
import { CUT_FACTOR } from '../../../src/overlay/flood/node.js';

/*
 * The per-connection request budget (common/rate.ts, as flood nodes use it) on a clock the test sets: a
 * burst at once, then the rate; drops beyond it; a neighbour that keeps
 * sending well over twice the rate is to be cut off, one that sends just
 * over it is not.
 */

describe('RateBudget', () => {
  it('accepts a burst at once, then queries at the rate', () => {
    const b = new RateBudget(10, 3, 0, CUT_FACTOR * 3);
    assert.deepEqual([0, 0, 0, 0].map((t) => b.take(t)), ['accept', 'accept', 'accept', 'drop']);
    assert.equal(b.take(50), 'drop', 'half a token back');
    assert.equal(b.take(100), 'accept', 'a whole one');
    assert.deepEqual([10_000, 10_000, 10_000, 10_000].map((t) => b.take(t)), ['accept', 'accept', 'accept', 'drop'], 'never more than the burst');
  });

  it('cuts off a neighbour whose drops pile past CUT_FACTOR bursts, not one just over the rate', () => {
    const flooder = new RateBudget(10, 3, 0, CUT_FACTOR * 3);
    const verdicts = Array.from({ length: 3 + CUT_FACTOR * 3 + 1 }, () => flooder.take(0));
    assert.deepEqual(verdicts.slice(-2), ['drop', 'cut']);
    // 15 a second against 10: a third dropped, and the pile drains as fast as it grows.
    const eager = new RateBudget(10, 3, 0, CUT_FACTOR * 3);
    const seen = new Set<string>();
    for (let i = 0; i < 1500; i++) seen.add(eager.take((i * 1000) / 15));
    assert.deepEqual([...seen].sort(), ['accept', 'drop']);
  });
});
