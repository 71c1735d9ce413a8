import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom, systemRandom } from '../../src/net/index.js';

/*
 * The randomness port. seededRandom must repeat for a seed (the simulator
 * depends on it); systemRandom (xoshiro128**) must give numbers in [0, 1),
 * spread evenly, and a different sequence each time.
 */

describe('random sources', () => {
  it('seededRandom repeats for a seed and differs between seeds', () => {
    const take = (seed: number): number[] => Array.from({ length: 5 }, seededRandom(seed));
    assert.deepEqual(take(7), take(7));
    assert.notDeepEqual(take(7), take(8));
  });

  it('systemRandom: [0, 1), evenly spread over tenths, 53 bits, a new sequence per generator', () => {
    const r = systemRandom();
    const tenths = new Array<number>(10).fill(0);
    let fractional = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = r();
      assert.ok(x >= 0 && x < 1, String(x));
      tenths[Math.floor(x * 10)]!++;
      // Bits below 2^-32 are set too: the number is made of two 32-bit draws, not one.
      if ((x * 2 ** 32) % 1 !== 0) fractional++;
    }
    // Each tenth expects 10,000 with a standard deviation near 95: 10 of those either way.
    for (const count of tenths) assert.ok(Math.abs(count - n / 10) < 1000, tenths.join(' '));
    assert.ok(fractional > n * 0.99);
    const a = systemRandom();
    const b = systemRandom();
    assert.notDeepEqual(Array.from({ length: 4 }, a), Array.from({ length: 4 }, b));
  });
});
