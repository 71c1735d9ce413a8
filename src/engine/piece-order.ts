import type { Random } from '../net/random.js';

/*
 * The piece picker's pool (picker.ts): the pieces that may still be started,
 * kept sorted by availability so that rarest first need not sort or scan the
 * torrent. It is libtorrent's design (piece_picker.hpp): one array of pieces
 * (`order`) cut into buckets by availability (`bucket[a]` = the position
 * where availability a starts), shuffled inside each bucket, with `pos` the
 * inverse (a piece's position, -1 outside the pool). Then:
 *  - a peer's have, bitfield or departure moves a piece one bucket up or
 *    down by one swap with its bucket's edge and one boundary shift: O(1);
 *  - insertion and removal shift one piece per bucket above: O(buckets);
 *  - the rarest piece a peer has is found by scanning from the lowest
 *    bucket, each from a random offset (the tie-break among equally rare
 *    pieces), stopping at the first hit: it costs the pieces examined, not
 *    the torrent, which matters at 100,000 pieces and a pick per request.
 *
 * The counts here are of peers that announced pieces one by one; seeds add
 * the same to every piece, so the picker counts them apart and they never
 * move anything here.
 */

/** What the pool needs of a peer's pieces (a PieceSet has it). */
interface Has {
  has(index: number): boolean;
}

export class PieceOrder {
  /** Availability per piece (peers other than seeds), kept for every piece, in the pool or not. */
  private readonly avail: Int32Array;
  /** The pool, order[0..size), sorted by availability and shuffled within each availability. */
  private readonly order: Int32Array;
  /** The inverse of `order`: a piece's position, -1 if it is not in the pool. */
  private readonly pos: Int32Array;
  /** bucket[a]: where availability a starts in `order` (it ends where a + 1 starts, or at size). */
  private readonly bucket: number[] = [0];
  private count: number;
  private gen = 0;

  /** Every piece 0..pieceCount-1 in the pool, at availability 0, in random order. */
  constructor(pieceCount: number, private readonly random: Random) {
    const n = pieceCount;
    this.avail = new Int32Array(n);
    this.order = new Int32Array(n);
    this.pos = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    // Fisher-Yates: random order inside the (single, availability 0) bucket.
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = this.order[i]!;
      this.order[i] = this.order[j]!;
      this.order[j] = t;
    }
    for (let i = 0; i < n; i++) this.pos[this.order[i]!] = i;
    this.count = n;
  }

  /** Pieces in the pool. */
  get size(): number {
    return this.count;
  }

  /** Bumped whenever a piece enters the pool (so "nothing here for this peer" marks can expire). */
  get generation(): number {
    return this.gen;
  }

  /** Whether piece p is in the pool. */
  has(p: number): boolean {
    return this.pos[p]! >= 0;
  }

  /** How many (non-seed) peers have piece p, whether or not it is in the pool. */
  availability(p: number): number {
    return this.avail[p]!;
  }

  /** One more peer has piece p: swap it to the end of its bucket, then shift the boundary so it starts the next one. */
  increment(p: number): void {
    const a = this.avail[p]!++;
    if (this.pos[p]! < 0) return;
    if (this.bucket.length <= a + 1) this.bucket.push(this.count);
    const last = this.bucket[a + 1]! - 1;
    this.swap(this.pos[p]!, last);
    this.bucket[a + 1] = last;
  }

  /** One peer fewer has piece p: the reverse, at the start of its bucket. */
  decrement(p: number): void {
    const a = this.avail[p]!--;
    if (this.pos[p]! < 0) return;
    const first = this.bucket[a]!;
    this.swap(this.pos[p]!, first);
    this.bucket[a] = first + 1;
  }

  /**
   * Put piece p (not in the pool) in: open a hole at the end of its bucket by
   * moving each higher bucket's first piece to its end, then swap p to a
   * random place in its bucket. Bumps the generation.
   */
  insert(p: number): void {
    const a = this.avail[p]!;
    while (this.bucket.length <= a) this.bucket.push(this.count);
    let hole = this.count++;
    for (let b = this.bucket.length - 1; b > a; b--) {
      const first = this.bucket[b]!;
      if (first !== hole) this.move(first, hole);
      hole = first;
      this.bucket[b] = first + 1;
    }
    this.order[hole] = p;
    this.pos[p] = hole;
    const s = this.bucket[a]!;
    this.swap(hole, s + Math.floor(this.random() * (this.end(a) - s)));
    this.gen++;
  }

  /** Take piece p out (nothing if it is not in): fill its place with its bucket's last piece, and so on up the buckets. */
  remove(p: number): void {
    const a = this.avail[p]!;
    let hole = this.pos[p]!;
    if (hole < 0) return;
    for (let b = a; b < this.bucket.length; b++) {
      if (b > a) this.bucket[b] = this.bucket[b]! - 1;
      const last = this.end(b) - 1;
      if (last !== hole) this.move(last, hole);
      hole = last;
    }
    this.count--;
    this.pos[p] = -1;
  }

  /** Whether any pool piece is in `pieces`. */
  hasAny(pieces: Has): boolean {
    for (let k = 0; k < this.count; k++) if (pieces.has(this.order[k]!)) return true;
    return false;
  }

  /**
   * The first pool piece in `pieces`, scanning the whole pool (ignoring
   * availability) from a random position; -1 if none. Draws one random
   * number if the pool is not empty.
   */
  randomIn(pieces: Has): number {
    if (this.count === 0) return -1;
    const start = Math.floor(this.random() * this.count);
    for (let k = 0; k < this.count; k++) {
      const p = this.order[(start + k) % this.count]!;
      if (pieces.has(p)) return p;
    }
    return -1;
  }

  /**
   * A rarest pool piece in `pieces`: the lowest bucket with any, scanned from
   * a random offset (one random number per non-empty bucket examined); -1 if
   * none.
   */
  rarestIn(pieces: Has): number {
    for (let b = 0; b < this.bucket.length; b++) {
      const s = this.bucket[b]!;
      const n = this.end(b) - s;
      if (n <= 0) continue;
      const r = Math.floor(this.random() * n);
      for (let k = 0; k < n; k++) {
        const p = this.order[s + (r + k < n ? r + k : r + k - n)]!;
        if (pieces.has(p)) return p;
      }
    }
    return -1;
  }

  /**
   * Throw if the structure is inconsistent: `pos` inverts `order`, the
   * buckets are ordered and every pool piece sits in its availability's
   * bucket. O(pieces), for tests (libtorrent checks its picker's invariants
   * in debug builds).
   */
  checkInvariant(): void {
    const fail = (what: string): never => {
      throw new Error(`PieceOrder invariant: ${what}`);
    };
    const n = this.pos.length;
    if (this.count < 0 || this.count > n) fail(`size ${this.count} of ${n} pieces`);
    if (this.bucket[0] !== 0) fail(`bucket 0 starts at ${this.bucket[0]}`);
    for (let b = 1; b < this.bucket.length; b++) {
      if (this.bucket[b]! < this.bucket[b - 1]! || this.bucket[b]! > this.count) fail(`bucket ${b} starts at ${this.bucket[b]}`);
    }
    for (let k = 0; k < this.count; k++) {
      const p = this.order[k]!;
      if (p < 0 || p >= n || this.pos[p] !== k) fail(`order[${k}] = ${p}, its pos ${this.pos[p]}`);
      const a = this.avail[p]!;
      if (a >= this.bucket.length || this.bucket[a]! > k || this.end(a) <= k) fail(`piece ${p} (availability ${a}) outside its bucket`);
    }
    for (let p = 0; p < n; p++) {
      if (this.avail[p]! < 0) fail(`piece ${p} availability ${this.avail[p]}`);
      const k = this.pos[p]!;
      if (k !== -1 && (k < 0 || k >= this.count || this.order[k] !== p)) fail(`pos[${p}] = ${k}`);
    }
  }

  // --- internals --------------------------------------------------------

  /** Where bucket b ends (exclusive). */
  private end(b: number): number {
    return b + 1 < this.bucket.length ? this.bucket[b + 1]! : this.count;
  }

  private swap(i: number, j: number): void {
    const x = this.order[i]!;
    this.move(j, i);
    this.order[j] = x;
    this.pos[x] = j;
  }

  private move(from: number, to: number): void {
    this.pos[(this.order[to] = this.order[from]!)] = to;
  }
}
