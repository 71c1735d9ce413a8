import type { Random } from '../net/random.js';
import type { PeerKey, PieceSet } from './picker.js';

/*
 * Super-seeding (BEP 16), for an initial seeder: the only copy of the data,
 * whose upload is the swarm's bottleneck until every piece is out. A normal
 * seed announces every piece, so its leechers, each picking its own rarest
 * piece among the same few, often ask it for pieces it has already sent
 * elsewhere: on the lab's swarms a plain seeder sends about two copies of the
 * file before the last piece first leaves it. A super-seeder says it has
 * nothing (have-none, or no bitfield) and then offers each peer one piece at a
 * time with a `have`: a piece that it has offered least and that the fewest
 * of its peers hold. When the peer announces that piece (its own `have`), the
 * offer is fulfilled and another is made. Requests for pieces not offered to
 * the asker are refused. So nearly every byte the seeder sends is a piece that
 * the swarm lacks, and the leechers trade the rest among themselves.
 *
 * Once the leechers together hold every piece, super-seeding ends: the seeder
 * announces the rest of its pieces and serves like any seed, so the last
 * leechers are not starved of the one source that has what they lack.
 *
 * BEP 16's strict form waits until a piece is seen at a second peer before
 * offering that peer a new one; like libtorrent by default, this offers the
 * next piece when the peer has the last one, and keeps `perPeer` offers open
 * (more for a fast peer, up to MAX_OPEN) so the peer's pipeline does not
 * empty while a `have` crosses the network. Some clients never announce a
 * piece to the peer they got it from: an offer whose every byte went to the
 * peer GRACE_MS ago counts as taken up too, so such a peer is not left with
 * nothing to ask for.
 *
 * This class only decides; the engine sends the messages.
 */

export interface SuperSeederInit {
  readonly pieceCount: number;
  readonly random: Random;
  /** How many connected peers hold piece i (the picker's availability). */
  readonly availability: (index: number) => number;
  /** Offers open at once per peer, at least. @default 2 */
  readonly perPeer?: number;
}

/** Offers open at once per peer, at most. */
export const MAX_OPEN = 16;
/** An offer fully sent this long ago counts as taken up, `have` or not (ms). */
export const GRACE_MS = 3000;

interface PeerOffers {
  /** Every piece ever offered to it: it may request those. */
  readonly allowed: Set<number>;
  /** Offers not yet taken up: piece -> bytes of it sent to the peer. */
  readonly open: Map<number, number>;
  /** Open offers whose every byte has been sent: piece -> when. */
  readonly sentAt: Map<number, number>;
}

export class SuperSeeder {
  private readonly pieceCount: number;
  private readonly random: Random;
  private readonly availability: (index: number) => number;
  private readonly perPeer: number;
  /** How many times each piece has been offered, to anyone. */
  private readonly offeredCount: Uint32Array;
  private readonly peers = new Map<PeerKey, PeerOffers>();
  private firstUnheld = 0;

  constructor(init: SuperSeederInit) {
    this.pieceCount = init.pieceCount;
    this.random = init.random;
    this.availability = init.availability;
    this.perPeer = init.perPeer ?? 2;
    this.offeredCount = new Uint32Array(init.pieceCount);
  }

  /**
   * Whether the peers together hold every piece, so that super-seeding has done its work: from then on the
   * seeder does more good as a plain seed, serving whatever the last leechers lack. Amortised O(1): pieces
   * are checked in order and one found held is not checked again (if its holders leave, we end a little early).
   */
  get spread(): boolean {
    while (this.firstUnheld < this.pieceCount && this.availability(this.firstUnheld) > 0) this.firstUnheld++;
    return this.firstUnheld === this.pieceCount;
  }

  /** Pieces offered to `peer`, so not to be announced to it again. */
  offered(peer: PeerKey): ReadonlySet<number> {
    return this.peers.get(peer)?.allowed ?? new Set();
  }

  /** The peer left: its offers not taken up are as good as never made. */
  removePeer(peer: PeerKey): void {
    const p = this.peers.get(peer);
    if (p === undefined) return;
    for (const i of p.open.keys()) this.offeredCount[i]!--;
    this.peers.delete(peer);
  }

  /** `bytes` of piece `index` (of `pieceSize` bytes) went to `peer`. */
  sent(peer: PeerKey, index: number, bytes: number, pieceSize: number, now: number): void {
    const p = this.peers.get(peer);
    const sofar = p?.open.get(index);
    if (p === undefined || sofar === undefined) return;
    p.open.set(index, sofar + bytes);
    if (sofar + bytes >= pieceSize && !p.sentAt.has(index)) p.sentAt.set(index, now);
  }

  /** May `peer` request `index`? Only if it was offered to it. */
  mayRequest(peer: PeerKey, index: number): boolean {
    return this.peers.get(peer)?.allowed.has(index) ?? false;
  }

  /**
   * New pieces to offer `peer`, which holds `pieces` (send each as a `have`): the offers it now holds are fulfilled,
   * and the open ones are topped up to `open` (perPeer unless more: a fast peer needs more pieces in hand than two,
   * or its pipeline empties at each piece while its `have` crosses the network).
   */
  offers(peer: PeerKey, pieces: PieceSet, now: number, open = this.perPeer): number[] {
    let p = this.peers.get(peer);
    if (p === undefined) this.peers.set(peer, (p = { allowed: new Set(), open: new Map(), sentAt: new Map() }));
    for (const i of p.open.keys()) {
      const sentAt = p.sentAt.get(i);
      if (pieces.has(i) || (sentAt !== undefined && now - sentAt >= GRACE_MS)) {
        p.open.delete(i);
        p.sentAt.delete(i);
      }
    }
    const out: number[] = [];
    const target = Math.min(MAX_OPEN, Math.max(this.perPeer, open));
    while (p.open.size < target) {
      const index = this.choose(pieces, p.allowed);
      if (index < 0) break;
      p.open.set(index, 0);
      p.allowed.add(index);
      this.offeredCount[index]!++;
      out.push(index);
    }
    return out;
  }

  /** The piece the peer lacks, not yet offered to it, offered least, then held by fewest; ties at random. -1 if none. */
  private choose(pieces: PieceSet, allowed: ReadonlySet<number>): number {
    let best = -1;
    let bestOffered = Infinity;
    let bestHeld = Infinity;
    let ties = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      if (pieces.has(i) || allowed.has(i)) continue;
      const offered = this.offeredCount[i]!;
      if (offered > bestOffered) continue;
      const held = this.availability(i);
      if (offered === bestOffered && held > bestHeld) continue;
      if (offered < bestOffered || held < bestHeld) {
        best = i;
        bestOffered = offered;
        bestHeld = held;
        ties = 1;
      } else if (this.random() * ++ties < 1) {
        best = i; // reservoir sampling: each tied piece is kept with probability 1/ties
      }
    }
    return best;
  }
}
