import { randomBytes } from 'node:crypto';

/*
 * The randomness port: policies take a `() => number` in [0, 1) instead of
 * calling Math.random, so a seed makes a run repeatable (DESIGN.md).
 */

export type Random = () => number;

/** A fast seeded generator (xorshift128+, 53-bit output). */
export function seededRandom(seed: number): Random {
  let s0 = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  let s1 = BigInt.asUintN(64, s0 * 0xbf58476d1ce4e5b9n + 0x94d049bb133111ebn);
  // BigInt keeps it exact and short; callers that need millions per second can swap it.
  return () => {
    let x = s0;
    const y = s1;
    s0 = y;
    x ^= BigInt.asUintN(64, x << 23n);
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(BigInt.asUintN(64, s1 + y) >> 11n) / 2 ** 53;
  };
}

/** A generator seeded from the operating system, for real (not simulated) runs. */
export function systemRandom(): Random {
  return seededRandom(randomBytes(6).readUIntBE(0, 6));
}
