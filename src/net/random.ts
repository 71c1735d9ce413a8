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

/**
 * A generator seeded from the operating system, for real (not simulated)
 * runs: xoshiro128** on 32-bit integers, two outputs per 53-bit number. No
 * sequence has to be reproduced here, so it need not be seededRandom's
 * BigInt arithmetic, which costs ~100 ns a call: a tracker draws once per
 * announce.
 */
export function systemRandom(): Random {
  const seed = randomBytes(16);
  let a = seed.readUInt32LE(0), b = seed.readUInt32LE(4), c = seed.readUInt32LE(8), d = seed.readUInt32LE(12);
  if ((a | b | c | d) === 0) a = 1; // the one state xoshiro never leaves
  const next = (): number => {
    const out = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return out;
  };
  return () => ((next() >>> 5) * 0x4000000 + (next() >>> 6)) / 2 ** 53;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
