import type { Random } from '../../net/index.js';

/*
 * The peers of one torrent, stored compactly: a tracker with a million peers
 * must not hold a million objects.
 *
 * IPv4 peers (nearly all of them) live in one typed array of two 32-bit
 * words each, sorted by address then port, which makes lookup a binary
 * search and an update in place:
 *
 *   entries[2i]      the IPv4 address
 *   entries[2i + 1]  port << 16 | meta, meta = bit 15: seeder;
 *                    bits 0-14: minute last seen, mod 2^15
 *
 * 8 bytes per peer plus the array's spare capacity. Both words of a peer
 * share a cache line, and an insertion moves one array, not two: on a busy
 * tracker every announce searches, samples and often inserts, and these
 * arrays are where its time goes. The minute counter wraps after 22 days,
 * far beyond any expiry time, so ages are computed modulo 2^15. Peer ids
 * (20 bytes) are kept only once some client of this swarm asks for the
 * non-compact, dictionary model (BEP 3), which modern clients never do.
 *
 * A peer's `key`, ip * 65536 + port (48 bits, exact in a double), names it
 * in this class's interface.
 *
 * IPv6 peers are rare and live in a Map.
 */

export const SEEDER = 0x8000;

/** Scratch space for sampling small swarms, shared by all swarms (the tracker is single-threaded). */
let scratch = { value: new Int32Array(1024), stamp: new Uint32Array(1024), generation: 0 };
const MINUTE_MASK = 0x7fff;

export interface Peer6 {
  readonly address: Uint8Array; // 16 bytes + port, as in peers6 (18 bytes)
  seeder: boolean;
  minute: number;
  peerId: Uint8Array | undefined;
}

export class Swarm {
  /** The IPv4 peers, two words each (see above); the first 2 * size are in use. */
  entries = new Uint32Array(8);
  peerIds: Uint8Array | undefined;
  size = 0;
  seeders = 0;
  completed = 0;
  readonly v6 = new Map<string, Peer6>();
  seeders6 = 0;
  /** The index of the peer last upserted, so the tracker need not search for it again. */
  lastIndex = -1;

  get leechers(): number {
    return this.size - this.seeders + (this.v6.size - this.seeders6);
  }

  get allSeeders(): number {
    return this.seeders + this.seeders6;
  }

  get peerCount(): number {
    return this.size + this.v6.size;
  }

  /** IPv4 peers the arrays have room for. */
  get capacity(): number {
    return this.entries.length >> 1;
  }

  /** The key (ip * 65536 + port) of the peer at `i`. */
  keyAt(i: number): number {
    return this.entries[2 * i]! * 65536 + (this.entries[2 * i + 1]! >>> 16);
  }

  /** The meta bits (SEEDER, minute) of the peer at `i`. */
  metaAt(i: number): number {
    return this.entries[2 * i + 1]! & 0xffff;
  }

  /** Index of `key`, or `-(insertion point) - 1` when absent. */
  find(key: number): number {
    const ip = Math.floor(key / 65536);
    const port = key - ip * 65536;
    const e = this.entries;
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const a = e[2 * mid]!;
      if (a === ip) {
        const p = e[2 * mid + 1]! >>> 16;
        if (p === port) return mid;
        if (p < port) lo = mid + 1;
        else hi = mid - 1;
      } else if (a < ip) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  /**
   * Record an announce. Returns whether the peer was a seeder before
   * (undefined when it is new), so the caller can count completions once.
   */
  upsert(key: number, seeder: boolean, minute: number, peerId: Uint8Array | undefined): boolean | undefined {
    const m = (seeder ? SEEDER : 0) | (minute & MINUTE_MASK);
    let i = this.find(key);
    let was: boolean | undefined;
    if (i >= 0) {
      was = (this.entries[2 * i + 1]! & SEEDER) !== 0;
      if (was !== seeder) this.seeders += seeder ? 1 : -1;
    } else {
      i = -i - 1;
      this.insertAt(i, key);
      if (seeder) this.seeders++;
    }
    const w = 2 * i + 1;
    this.entries[w] = ((this.entries[w]! & 0xffff0000) | m) >>> 0;
    if (peerId !== undefined && this.peerIds !== undefined) this.peerIds.set(peerId, i * 20);
    this.lastIndex = i;
    return was;
  }

  remove(key: number): void {
    const i = this.find(key);
    if (i < 0) return;
    if ((this.entries[2 * i + 1]! & SEEDER) !== 0) this.seeders--;
    this.entries.copyWithin(2 * i, 2 * i + 2, 2 * this.size);
    this.peerIds?.copyWithin(i * 20, (i + 1) * 20, this.size * 20);
    this.size--;
  }

  /** Start keeping peer ids (for the dictionary model); unknown ones read as zeros until the peer re-announces. */
  keepPeerIds(): void {
    if (this.peerIds === undefined) this.peerIds = new Uint8Array(this.capacity * 20);
  }

  /** Drop peers last seen more than `maxAge` minutes before `minute`. Returns how many went. */
  expire(minute: number, maxAge: number): number {
    const e = this.entries;
    let w = 0;
    const before = this.size + this.v6.size;
    for (let r = 0; r < this.size; r++) {
      const m = e[2 * r + 1]! & 0xffff;
      if (((minute - m) & MINUTE_MASK) > maxAge) {
        if ((m & SEEDER) !== 0) this.seeders--;
        continue;
      }
      if (w !== r) {
        e[2 * w] = e[2 * r]!;
        e[2 * w + 1] = e[2 * r + 1]!;
        this.peerIds?.copyWithin(w * 20, r * 20, r * 20 + 20);
      }
      w++;
    }
    this.size = w;
    for (const [k, p] of this.v6) {
      if (((minute - p.minute) & MINUTE_MASK) > maxAge) {
        if (p.seeder) this.seeders6--;
        this.v6.delete(k);
      }
    }
    this.shrink();
    return before - this.size - this.v6.size;
  }

  /**
   * Up to `want` random IPv4 peer indices, leaving out `exclude` (the
   * requester's own index) and, when `leechersOnly`, the seeders.
   *
   * A large swarm is cut into `want` equal strata and one peer is drawn from
   * each, starting at a random offset (opentracker does the same): distinct
   * peers without a set of those already taken, and one draw per peer. The
   * draws come from a xorshift32 seeded by a single call to `random`, so a
   * seeded source still makes the choice repeatable, while the (BigInt,
   * ~100 ns) injected generator is called once per announce, not once per
   * peer: that call used to be half of an announce's cost.
   *
   * A small swarm (up to four peers per stratum: the reply is a good part
   * of it anyway), or one where the eligible peers are few (a seeder asking
   * in a swarm of seeders, where strata would mostly miss), is scanned from
   * a random start instead, as before.
   */
  sample(want: number, exclude: number, leechersOnly: boolean, random: Random): number[] {
    const out = new Int32Array(Math.max(0, want));
    return Array.from(out.subarray(0, this.sampleInto(want, exclude, leechersOnly, random, out)));
  }

  /**
   * sample(), written into `out` (room for `want` indices): how many were
   * picked. The tracker calls this on every announce with one array it
   * keeps, so a reply's indices cost no allocation.
   */
  sampleInto(want: number, exclude: number, leechersOnly: boolean, random: Random, out: Int32Array): number {
    const n = this.size;
    const eligible = leechersOnly ? n - this.seeders : n;
    if (want <= 0 || eligible === 0) return 0;
    let count = 0;
    const e = this.entries;
    const seed = random();
    const start = Math.floor(seed * n);
    let x = (seed * 0x1_0000_0000) | 0 || 0x9e3779b9; // xorshift32 state, never 0
    if (n > want * 4 && eligible * 2 >= n) {
      // The k-th stratum ends at floor(k * n / want) = k * q + floor(k * r / want)
      // for n = q * want + r: stepped exactly in integers (acc = k * r mod
      // want) instead of a division per stratum. Widths differ by at most one.
      const q = Math.floor(n / want);
      const r = n - q * want;
      let acc = 0;
      let lo = 0;
      // Picks owed by earlier strata that held no eligible peer, taken from the next ones.
      let owed = 0;
      for (let k = 1; k <= want; k++) {
        acc += r;
        let width = q; // at least 4
        if (acc >= want) {
          acc -= want;
          width++;
        }
        const hi = lo + width;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        // Scaled, not x % width: a modulo of a uint32 above 2^31 is a slow float fmod.
        let j = width < 0x10000 ? ((x >>> 16) * width) >>> 16 : Math.floor((x >>> 0) * (width / 0x1_0000_0000));
        // The drawn peer (or the next eligible ones, cyclically within the stratum).
        let need = 1 + owed;
        for (let t = 0; t < width; t++) {
          let i = start + lo + j;
          if (i >= n) i -= n;
          if (i !== exclude && (!leechersOnly || (e[2 * i + 1]! & SEEDER) === 0)) {
            out[count++] = i;
            if (--need === 0) break;
          }
          if (++j === width) j = 0;
        }
        owed = need;
        lo = hi;
      }
      if (count === want) return count;
      // The last strata held no eligible peer and could not pay what was
      // owed (rare): top up from the rest, in order, from the same start.
      const taken = new Set(out.subarray(0, count));
      for (let k = 0; k < n && count < want; k++) {
        const i = (start + k) % n;
        if (!taken.has(i) && i !== exclude && (!leechersOnly || (e[2 * i + 1]! & SEEDER) === 0)) out[count++] = i;
      }
      return count;
    }
    if (n <= want * 4) {
      // A small swarm: a partial Fisher-Yates shuffle of the indices, so the
      // peers sent are a uniform random subset, not a run of neighbouring
      // addresses (n is at most 4 x numwant here, so this stays cheap).
      // The index array is virtual (slot i holds i unless stamped with this
      // generation), so a draw costs O(1) and nothing is filled or allocated.
      if (scratch.value.length < n) scratch = { value: new Int32Array(n * 2), stamp: new Uint32Array(n * 2), generation: 0 };
      if (scratch.generation === 0xffffffff) {
        // After 2^32 samples the stamps would repeat: start them over.
        scratch.stamp.fill(0);
        scratch.generation = 0;
      }
      const gen = ++scratch.generation;
      const { value, stamp } = scratch;
      for (let k = 0; k < n && count < want; k++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        // n - k < 65,536 here, so a 16 x 16-bit scale is exact enough and avoids a modulo.
        const j = k + (((x >>> 16) * (n - k)) >>> 16);
        const i = stamp[j] === gen ? value[j]! : j;
        value[j] = stamp[k] === gen ? value[k]! : k;
        stamp[j] = gen;
        if (i !== exclude && (!leechersOnly || (e[2 * i + 1]! & SEEDER) === 0)) out[count++] = i;
      }
      return count;
    }
    // A large swarm where the eligible peers are few (a seeder among mostly
    // seeders): every one of them is found by a scan from a random start.
    for (let k = 0; k < n && count < want; k++) {
      const i = (start + k) % n;
      if (i !== exclude && (!leechersOnly || (e[2 * i + 1]! & SEEDER) === 0)) out[count++] = i;
    }
    return count;
  }

  private insertAt(i: number, key: number): void {
    if (this.size === this.capacity) this.grow();
    const ip = Math.floor(key / 65536);
    this.entries.copyWithin(2 * i + 2, 2 * i, 2 * this.size);
    this.peerIds?.copyWithin((i + 1) * 20, i * 20, this.size * 20);
    this.entries[2 * i] = ip;
    this.entries[2 * i + 1] = ((key - ip * 65536) << 16) >>> 0;
    this.peerIds?.fill(0, i * 20, i * 20 + 20);
    this.size++;
  }

  /** Grow by a quarter (not double): spare capacity is memory too. */
  private grow(): void {
    this.resize(Math.max(8, Math.ceil(this.capacity * 1.25)));
  }

  private shrink(): void {
    if (this.capacity > 16 && this.size < this.capacity / 2) this.resize(Math.max(4, Math.ceil(this.size * 1.25)));
  }

  private resize(capacity: number): void {
    const entries = new Uint32Array(capacity * 2);
    entries.set(this.entries.subarray(0, this.size * 2));
    this.entries = entries;
    if (this.peerIds !== undefined) {
      const ids = new Uint8Array(capacity * 20);
      ids.set(this.peerIds.subarray(0, this.size * 20));
      this.peerIds = ids;
    }
  }
}
