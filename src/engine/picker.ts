import type { Random } from '../net/random.js';
import { PieceOrder } from './piece-order.js';

/*
 * The piece picker: which blocks to request from which peer (BEP 3 leaves the
 * order to the client). It is a pure policy: the engine tells it what peers
 * have and what arrived, and it returns block requests; it never touches a
 * socket, the disk or the clock.
 *
 * What it tracks (libtorrent's piece_picker.hpp lists its own the same way):
 *  1. our pieces (`have`) and the file selection (`wanted`);
 *  2. availability: how many connected peers have each piece. Seeds are a
 *     single counter (`seeds`), so a have-all costs O(1) and they do not move
 *     pieces between buckets (they add the same to every piece); the other
 *     peers' counts are kept by the pool, whose order depends on them;
 *  3. the pool (`pool`, a PieceOrder, piece-order.ts): wanted pieces we lack
 *     that no block has been requested of, kept sorted by availability in
 *     buckets, shuffled inside a bucket. A have/bitfield/disconnect moves a
 *     piece one bucket by a single swap with the bucket's edge; finding the
 *     rarest piece a peer has scans from the lowest bucket at a random
 *     offset, so it costs the pieces examined, not the torrent (the
 *     libtorrent design);
 *  4. partial pieces (`partials`, insertion ordered, small): per block, who it
 *     is requested from and who sent it;
 *  5. per peer: our copy of its pieces and its outstanding requests.
 *
 * Rarest first is from Cohen, "Incentives Build Robustness in BitTorrent"
 * (2003) §2.4.2: it spreads the rarest pieces first so the swarm survives the
 * seed leaving, and it is preceded by "random first piece" (§2.4.3: a newcomer needs
 * any complete piece soon, to have something to trade) and followed by
 * "endgame mode" (§2.4.4: the last blocks are requested from several peers,
 * and cancelled when one arrives). Finishing started pieces first is §2.4.1,
 * "strict priority".
 */

export type PeerKey = number;

export interface BlockRef { readonly index: number; readonly begin: number; readonly length: number }

/** What the picker needs to know of a peer's pieces (the engine passes its Bitfield, which has these). */
export interface PieceSet { has(index: number): boolean; readonly count: number; readonly length: number }

/**
 * Which new piece to start: the rarest the peer has (the default, and the point of BitTorrent's picker), one at
 * random, or the lowest-numbered (for playing a file while it downloads, and for the lab's comparison).
 */
export type PieceOrderMode = 'rarest-first' | 'random' | 'sequential';

export interface PiecePickerInit {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  /** @default 16384 (BEP 3: "All current implementations use 2^14") */
  readonly blockSize?: number;
  readonly random: Random;
  /** Pieces picked at random (not rarest first) until this many are complete, so a newcomer soon has something to trade. @default 4 */
  readonly randomFirstPieces?: number;
  /** Most peers one block is requested from in endgame. @default 2 */
  readonly endgameDuplicates?: number;
  /**
   * In endgame, a peer is given duplicate requests only while it has fewer than this many outstanding: duplicates
   * go to peers that would otherwise stand idle, a few at a time. @default 2
   */
  readonly endgameDepth?: number;
  /** @default 'rarest-first' */
  readonly order?: PieceOrderMode;
}

export interface BlockResult {
  /** False: a duplicate or a block we did not request from this peer; drop it. */
  readonly wanted: boolean;
  /** Other peers the block was also requested from (endgame): send them cancel. */
  readonly cancel: readonly PeerKey[];
  /** Every block of the piece has arrived: hash it, then pieceVerified or pieceFailed. */
  readonly pieceReady: boolean;
}

/** A piece with at least one block requested or received. */
interface Partial {
  readonly index: number;
  readonly blocks: number;
  /** Per block: the peers it is outstanding at (more than one only in endgame). */
  readonly requested: PeerKey[][];
  /** Per block: the peer that sent it, once received. */
  readonly from: (PeerKey | undefined)[];
  /** Blocks neither requested nor received. */
  free: number;
  /** Blocks requested and not yet received. */
  inFlight: number;
  received: number;
  /** No free block below this one (saves rescanning big pieces per pick). */
  next: number;
}

interface PeerRecord {
  seed: boolean;
  /** Our copy of its pieces, one bit each (undefined for seeds and before any have). */
  bits: Uint8Array | undefined;
  count: number;
  /** Outstanding requests, as block keys (index * blocksPerPiece + block). */
  readonly requests: Set<number>;
  /** The pool generation and the peer's piece count when a full scan found nothing new for it. */
  exhaustedGen: number;
  exhaustedCount: number;
}

const NOT_WANTED: BlockResult = Object.freeze({ wanted: false, cancel: Object.freeze([]), pieceReady: false });
const NO_PEERS: readonly PeerKey[] = Object.freeze([]);

export class PiecePicker {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly blockSize: number;
  /** Blocks in a full piece (the last piece may have fewer). */
  readonly blocksPerPiece: number;
  private readonly random: Random;
  private readonly randomFirst: number;
  private readonly duplicates: number;
  private readonly endgameDepth: number;
  readonly order: PieceOrderMode;
  /** Sequential order: no pool piece below this index. */
  private seqFrom = 0;

  private readonly have: Uint8Array;
  private readonly wanted: Uint8Array;
  private haveN = 0;
  private missingWanted: number;

  private seeds = 0;
  /** Wanted pieces we lack and have not started, by availability; it also counts the non-seed availability. */
  private readonly pool: PieceOrder;

  private readonly partials = new Map<number, Partial>();
  /** Free blocks in wanted partial pieces. */
  private partialFree = 0;
  private readonly peers = new Map<PeerKey, PeerRecord>();

  constructor(init: PiecePickerInit) {
    const { pieceCount: n, pieceLength, totalLength } = init;
    this.blockSize = init.blockSize ?? 16384;
    if (!Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(pieceLength) || pieceLength < 1) throw new RangeError('pieceCount and pieceLength must be positive integers');
    if (!Number.isSafeInteger(totalLength) || totalLength <= (n - 1) * pieceLength || totalLength > n * pieceLength) {
      throw new RangeError(`totalLength ${totalLength} does not fit ${n} pieces of ${pieceLength}`);
    }
    if (!Number.isSafeInteger(this.blockSize) || this.blockSize < 1) throw new RangeError('blockSize must be a positive integer');
    this.pieceCount = n;
    this.pieceLength = pieceLength;
    this.totalLength = totalLength;
    this.blocksPerPiece = Math.ceil(pieceLength / this.blockSize);
    this.random = init.random;
    this.randomFirst = init.randomFirstPieces ?? 4;
    this.duplicates = Math.max(1, init.endgameDuplicates ?? 2);
    this.endgameDepth = Math.max(1, init.endgameDepth ?? 2);
    this.order = init.order ?? 'rarest-first';
    this.have = new Uint8Array(n);
    this.wanted = new Uint8Array(n).fill(1);
    this.missingWanted = n;
    this.pool = new PieceOrder(n, this.random);
  }

  // --- geometry ---------------------------------------------------------

  /** Bytes in piece `index` (the last one may be short). */
  pieceSize(index: number): number {
    return index === this.pieceCount - 1 ? this.totalLength - this.pieceLength * (this.pieceCount - 1) : this.pieceLength;
  }

  /** Blocks in piece `index`. */
  blocksIn(index: number): number {
    return Math.ceil(this.pieceSize(index) / this.blockSize);
  }

  private blockRef(index: number, j: number): BlockRef {
    const begin = j * this.blockSize;
    return { index, begin, length: Math.min(this.blockSize, this.pieceSize(index) - begin) };
  }

  /** The block number of `block` in `part`, or -1 if it is not one of our block boundaries. */
  private blockOf(part: Partial, block: BlockRef): number {
    const j = block.begin / this.blockSize;
    if (!Number.isInteger(j) || j < 0 || j >= part.blocks) return -1;
    return block.length === Math.min(this.blockSize, this.pieceSize(part.index) - block.begin) ? j : -1;
  }

  // --- our pieces -------------------------------------------------------

  markHave(index: number): void {
    this.checkIndex(index);
    if (this.have[index] === 1) return;
    const part = this.partials.get(index);
    if (part !== undefined) this.dropPartial(part);
    this.pool.remove(index);
    this.have[index] = 1;
    this.haveN++;
    if (this.wanted[index] === 1) this.missingWanted--;
  }

  has(index: number): boolean {
    return this.have[index] === 1;
  }

  /** Whether we want `index` and lack it (on a peer's `have`: become interested). */
  wants(index: number): boolean {
    return this.have[index] === 0 && this.wanted[index] === 1;
  }

  get haveCount(): number {
    return this.haveN;
  }

  /** Every wanted piece is had. */
  get complete(): boolean {
    return this.missingWanted === 0;
  }

  setWanted(index: number, wanted: boolean): void {
    this.checkIndex(index);
    const w = wanted ? 1 : 0;
    if (this.wanted[index] === w) return;
    this.wanted[index] = w;
    if (this.have[index] === 1) return;
    this.missingWanted += wanted ? 1 : -1;
    const part = this.partials.get(index);
    if (part !== undefined) this.partialFree += wanted ? part.free : -part.free;
    else if (wanted) this.poolInsert(index);
    else this.pool.remove(index);
  }

  // --- availability -----------------------------------------------------

  addPeer(peer: PeerKey, pieces: PieceSet | 'all' | 'none'): void {
    const rec = this.record(peer);
    this.forget(rec);
    rec.exhaustedGen = -1;
    if (pieces === 'none') return;
    if (pieces !== 'all' && pieces.length !== this.pieceCount) throw new RangeError(`peer has ${pieces.length} pieces, torrent ${this.pieceCount}`);
    // A full bitfield is a seed too (most clients send one instead of BEP 6 have-all).
    if (pieces === 'all' || pieces.count >= this.pieceCount) {
      rec.seed = true;
      this.seeds++;
      return;
    }
    const bits = new Uint8Array((this.pieceCount + 7) >> 3);
    rec.bits = bits;
    for (let i = 0; i < this.pieceCount; i++) {
      if (!pieces.has(i)) continue;
      bits[i >> 3]! |= 0x80 >> (i & 7);
      rec.count++;
      this.pool.increment(i);
    }
  }

  peerHave(peer: PeerKey, index: number): void {
    this.checkIndex(index);
    const rec = this.record(peer);
    if (rec.seed) return;
    const bits = (rec.bits ??= new Uint8Array((this.pieceCount + 7) >> 3));
    const mask = 0x80 >> (index & 7);
    if ((bits[index >> 3]! & mask) !== 0) return;
    bits[index >> 3]! |= mask;
    rec.count++;
    this.pool.increment(index);
    if (rec.count === this.pieceCount) {
      // It finished: count it as a seed from now on (one O(n) pass, once).
      this.forget(rec);
      rec.seed = true;
      this.seeds++;
    }
  }

  removePeer(peer: PeerKey): void {
    const rec = this.peers.get(peer);
    if (rec === undefined) return;
    this.releaseAll(peer);
    this.forget(rec);
    this.peers.delete(peer);
  }

  availability(index: number): number {
    return this.pool.availability(index) + this.seeds;
  }

  isInteresting(pieces: PieceSet): boolean {
    if (pieces.count === 0 || this.missingWanted === 0) return false;
    if (pieces.count >= this.pieceCount) return true;
    // The pool and the partials are exactly the wanted pieces we lack.
    if (this.pool.hasAny(pieces)) return true;
    for (const part of this.partials.values()) if (this.wanted[part.index] === 1 && pieces.has(part.index)) return true;
    return false;
  }

  // --- requests ---------------------------------------------------------

  pick(peer: PeerKey, pieces: PieceSet, max: number, onlyFrom?: ReadonlySet<number>): BlockRef[] {
    const out: BlockRef[] = [];
    if (max <= 0 || this.missingWanted === 0 || pieces.count === 0) return out;
    const rec = this.record(peer);
    // 1. Finish what is started: a complete piece can be verified and traded.
    if (this.partialFree > 0) {
      for (const part of this.partials.values()) {
        if (part.free === 0 || !this.usable(part.index, pieces, onlyFrom)) continue;
        this.takeFree(part, peer, rec, max, out);
        if (out.length >= max) return out;
      }
    }
    // 2. New pieces: random first, then rarest first.
    while (out.length < max) {
      const index = this.choosePiece(rec, pieces, onlyFrom);
      if (index < 0) break;
      this.pool.remove(index);
      const blocks = this.blocksIn(index);
      const requested = Array.from({ length: blocks }, (): PeerKey[] => []);
      const from = new Array<PeerKey | undefined>(blocks).fill(undefined);
      const part: Partial = { index, blocks, requested, from, free: blocks, inFlight: 0, received: 0, next: 0 };
      this.partials.set(index, part);
      this.partialFree += blocks;
      this.takeFree(part, peer, rec, max, out);
    }
    // 3. Endgame: duplicate blocks outstanding elsewhere, fewest copies first, newest requests first (they
    // would arrive last), and only to a peer that is nearly idle. Filling every pipeline with duplicates
    // would send most of the last blocks twice: a cancel cannot recall a block already on the wire.
    if (out.length < max && this.inEndgame && rec.requests.size < this.endgameDepth) {
      const budget = Math.min(max, out.length + this.endgameDepth - rec.requests.size);
      const parts = [...this.partials.values()].reverse();
      for (let copies = 1; copies < this.duplicates && out.length < budget; copies++) {
        for (const part of parts) {
          if (part.inFlight === 0 || !this.usable(part.index, pieces, onlyFrom)) continue;
          for (let j = part.blocks - 1; j >= 0 && out.length < budget; j--) {
            const r = part.requested[j]!;
            if (r.length !== copies || r.includes(peer)) continue;
            r.push(peer);
            rec.requests.add(part.index * this.blocksPerPiece + j);
            out.push(this.blockRef(part.index, j));
          }
          if (out.length >= budget) break;
        }
      }
    }
    return out;
  }

  /**
   * A block arrived. One we still lack is taken even if it is no longer requested from this peer (its request was
   * released when the peer choked us or stalled, and the block was already on its way): dropping it would only have
   * it sent again. Its sender is recorded like any other, so a bad piece still counts against it.
   */
  onBlock(peer: PeerKey, block: BlockRef): BlockResult {
    const part = this.partials.get(block.index);
    if (part === undefined) return NOT_WANTED;
    const j = this.blockOf(part, block);
    if (j < 0 || part.from[j] !== undefined) return NOT_WANTED;
    const r = part.requested[j]!;
    const key = block.index * this.blocksPerPiece + j;
    let cancel = NO_PEERS;
    for (const q of r) {
      this.peers.get(q)?.requests.delete(key);
      if (q !== peer) cancel = cancel === NO_PEERS ? [q] : [...cancel, q];
    }
    if (r.length > 0) part.inFlight--;
    else this.addFree(part, -1);
    r.length = 0;
    part.from[j] = peer;
    part.received++;
    return { wanted: true, cancel, pieceReady: part.received === part.blocks };
  }

  release(peer: PeerKey, block: BlockRef): void {
    const part = this.partials.get(block.index);
    if (part === undefined) return;
    const j = this.blockOf(part, block);
    if (j >= 0) this.releaseBlock(peer, part, j);
  }

  releaseAll(peer: PeerKey): BlockRef[] {
    const rec = this.peers.get(peer);
    if (rec === undefined || rec.requests.size === 0) return [];
    const out: BlockRef[] = [];
    for (const key of [...rec.requests]) {
      const index = Math.floor(key / this.blocksPerPiece);
      const j = key - index * this.blocksPerPiece;
      const part = this.partials.get(index);
      out.push(this.blockRef(index, j));
      if (part !== undefined) this.releaseBlock(peer, part, j);
      else rec.requests.delete(key);
    }
    return out;
  }

  outstanding(peer: PeerKey): number {
    return this.peers.get(peer)?.requests.size ?? 0;
  }

  pieceVerified(index: number): void {
    this.markHave(index);
  }

  pieceFailed(index: number): PeerKey[] {
    const part = this.partials.get(index);
    if (part === undefined) return [];
    const senders: PeerKey[] = [];
    for (let j = 0; j < part.blocks; j++) {
      const q = part.from[j];
      if (q === undefined) continue;
      if (!senders.includes(q)) senders.push(q);
      part.from[j] = undefined;
      part.received--;
      this.addFree(part, 1);
    }
    part.next = 0;
    this.maybeReturn(part);
    return senders;
  }

  /** Every missing wanted block is requested already: duplicates are allowed. */
  get inEndgame(): boolean {
    return this.missingWanted > 0 && this.pool.size === 0 && this.partialFree === 0;
  }

  // --- internals --------------------------------------------------------

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) throw new RangeError(`piece ${index} out of range 0..${this.pieceCount - 1}`);
  }

  private record(peer: PeerKey): PeerRecord {
    let rec = this.peers.get(peer);
    if (rec === undefined) {
      rec = { seed: false, bits: undefined, count: 0, requests: new Set(), exhaustedGen: -1, exhaustedCount: -1 };
      this.peers.set(peer, rec);
    }
    return rec;
  }

  /** Subtract a peer's pieces from the availability. */
  private forget(rec: PeerRecord): void {
    if (rec.seed) {
      rec.seed = false;
      this.seeds--;
    }
    const bits = rec.bits;
    if (bits !== undefined) {
      for (let b = 0; b < bits.length; b++) {
        const byte = bits[b]!;
        if (byte === 0) continue;
        for (let k = 0; k < 8; k++) if ((byte & (0x80 >> k)) !== 0) this.pool.decrement((b << 3) + k);
      }
    }
    rec.bits = undefined;
    rec.count = 0;
  }

  private usable(index: number, pieces: PieceSet, onlyFrom: ReadonlySet<number> | undefined): boolean {
    return this.wanted[index] === 1 && pieces.has(index) && (onlyFrom === undefined || onlyFrom.has(index));
  }

  private takeFree(part: Partial, peer: PeerKey, rec: PeerRecord, max: number, out: BlockRef[]): void {
    for (let j = part.next; j < part.blocks && part.free > 0 && out.length < max; j++) {
      if (part.from[j] !== undefined || part.requested[j]!.length > 0) continue;
      part.requested[j]!.push(peer);
      rec.requests.add(part.index * this.blocksPerPiece + j);
      part.inFlight++;
      this.addFree(part, -1);
      part.next = j + 1;
      out.push(this.blockRef(part.index, j));
    }
  }

  private releaseBlock(peer: PeerKey, part: Partial, j: number): void {
    const r = part.requested[j]!;
    const at = r.indexOf(peer);
    if (at < 0) return;
    r.splice(at, 1);
    this.peers.get(peer)?.requests.delete(part.index * this.blocksPerPiece + j);
    if (r.length > 0 || part.from[j] !== undefined) return;
    part.inFlight--;
    this.addFree(part, 1);
    if (j < part.next) part.next = j;
    this.maybeReturn(part);
  }

  private addFree(part: Partial, delta: number): void {
    part.free += delta;
    if (this.wanted[part.index] === 1) this.partialFree += delta;
  }

  /** A partial piece with nothing requested or received goes back to the pool, to be ranked again. */
  private maybeReturn(part: Partial): void {
    if (part.inFlight > 0 || part.received > 0) return;
    this.dropPartial(part);
    if (this.wanted[part.index] === 1) this.poolInsert(part.index);
  }

  private poolInsert(index: number): void {
    this.pool.insert(index);
    if (index < this.seqFrom) this.seqFrom = index;
  }

  private dropPartial(part: Partial): void {
    for (let j = 0; j < part.blocks; j++) {
      for (const q of part.requested[j]!) this.peers.get(q)?.requests.delete(part.index * this.blocksPerPiece + j);
    }
    if (this.wanted[part.index] === 1) this.partialFree -= part.free;
    this.partials.delete(part.index);
  }

  /** Sequential order: the lowest-numbered pool piece the peer has, or -1. */
  private firstIn(pieces: PieceSet): number {
    while (this.seqFrom < this.pieceCount && !this.pool.has(this.seqFrom)) this.seqFrom++;
    for (let i = this.seqFrom; i < this.pieceCount; i++) if (this.pool.has(i) && pieces.has(i)) return i;
    return -1;
  }

  /**
   * A pool piece the peer has: uniformly random while fewer than
   * randomFirstPieces are had, else from the lowest bucket it has any in,
   * scanning from a random offset (the tie-break among equally rare pieces).
   * Returns -1 if none.
   */
  private choosePiece(rec: PeerRecord, pieces: PieceSet, onlyFrom: ReadonlySet<number> | undefined): number {
    const pool = this.pool;
    if (pool.size === 0) return -1;
    const randomly = this.order === 'random' || (this.order === 'rarest-first' && this.haveN < this.randomFirst);
    if (onlyFrom !== undefined) {
      // BEP 6 allowed-fast sets are small (10 pieces or so): look at each.
      let best = -1;
      let bestA = Infinity;
      let ties = 0;
      for (const p of onlyFrom) {
        if (!Number.isInteger(p) || p < 0 || p >= this.pieceCount || !pool.has(p) || !pieces.has(p)) continue;
        const a = randomly ? 0 : pool.availability(p);
        if (a < bestA) [best, bestA, ties] = [p, a, 1];
        else if (a === bestA && this.random() * ++ties < 1) best = p;
      }
      return best;
    }
    // Nothing entered the pool and the peer got no piece since a scan found nothing: skip the scan.
    if (rec.exhaustedGen === pool.generation && rec.exhaustedCount === pieces.count) return -1;
    const p = this.order === 'sequential' ? this.firstIn(pieces) : randomly ? pool.randomIn(pieces) : pool.rarestIn(pieces);
    if (p >= 0) return p;
    rec.exhaustedGen = pool.generation;
    rec.exhaustedCount = pieces.count;
    return -1;
  }
}

export { requestQueueDepth, requestQueueTime } from './queue-depth.js';
