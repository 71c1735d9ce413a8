import type { PieceSet } from '../../src/engine/picker.js';

/*
 * Test helpers for the engine policies: piece sets from strings, one
 * character per piece (libtorrent's piece-picker tests build state the same
 * way), and a cheap generator for large random states.
 */

/** A mutable PieceSet, e.g. `Pieces.of('1011')`. */
export class Pieces implements PieceSet {
  private readonly bits: Uint8Array;
  count = 0;

  constructor(readonly length: number) {
    this.bits = new Uint8Array(length);
  }

  static of(s: string): Pieces {
    const p = new Pieces(s.length);
    for (let i = 0; i < s.length; i++) if (s[i] !== '0') p.set(i);
    return p;
  }

  static all(n: number): Pieces {
    return Pieces.of('1'.repeat(n));
  }

  has(i: number): boolean {
    return this.bits[i] === 1;
  }

  set(i: number): void {
    if (this.bits[i] === 1) return;
    this.bits[i] = 1;
    this.count++;
  }
}

/** mulberry32: a fast seeded generator for building big test states (not a policy input). */
export function fastRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
