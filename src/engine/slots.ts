import { Choker, type ChokeCandidate, type ChokerInit } from './choker.js';
import type { PeerConnection } from './peer.js';
import type { PeerKey } from './picker.js';
import type { TorrentEvent } from './torrent-types.js';

/*
 * A torrent's upload slots: the Choker decides (choker.ts), this applies its
 * decisions to the connections, every UNCHOKE_INTERVAL_MS and between
 * rounds when a slot comes free or a peer asks for one. At most
 * choker.unchokeSlots peers are unchoked at any time (4 + the optimistic
 * one by default).
 */

/** Cohen §3.2: choke decisions every 10 s, so TCP ramps up and rates are measured over a full round. */
export const UNCHOKE_INTERVAL_MS = 10_000;

export interface SlotsHost {
  peers(): Iterable<PeerConnection>;
  peer(key: PeerKey): PeerConnection | undefined;
  /** Seeds rank peers by what we send them, leechers by what they send us. */
  seeding(): boolean;
  now(): number;
  /** We choked the peer: its queued requests are void. */
  choked(peer: PeerConnection): void;
  emit(e: TorrentEvent): void;
}

export class UploadSlots {
  readonly choker: Choker;
  private lastRoundAt = -Infinity;

  constructor(
    private readonly host: SlotsHost,
    init: ChokerInit,
  ) {
    this.choker = new Choker(init);
  }

  isOptimistic(peer: PeerConnection): boolean {
    return this.choker.optimistic === peer.key;
  }

  /** Run a round if one is due. */
  tick(now: number): void {
    if (now - this.lastRoundAt >= UNCHOKE_INTERVAL_MS) this.round();
  }

  /** The peer became interested: a free slot goes to it now rather than at the next round. */
  interested(peer: PeerConnection, now: number): void {
    if (peer.amChoking && this.unchoked() < this.choker.unchokeSlots) this.set(peer, false, now);
  }

  /**
   * The peer lost interest: its slot would stand idle until the next round, so it is choked (unless it holds the
   * optimistic slot, which is the choker's to move) and the slot goes to a peer that wants something. If it wants
   * something again, it asks like anyone else.
   */
  lostInterest(peer: PeerConnection, now: number): void {
    if (peer.amChoking || this.isOptimistic(peer)) return;
    this.set(peer, true, now);
    this.fill(now);
  }

  /** The peer is gone: the optimistic slot is the choker's to hand on; a regular one is refilled without reshuffling the rest. */
  left(peer: PeerConnection): void {
    if (this.isOptimistic(peer)) this.round();
    else if (!peer.amChoking) this.fill(this.host.now());
  }

  /** Apply the choker's decision: unchoke its picks, choke everyone else. */
  round(): void {
    const now = this.host.now();
    this.lastRoundAt = now;
    const decision = this.choker.decide(this.candidates(now), now, this.host.seeding());
    const unchoked: { address: string; reason: string }[] = [];
    for (const p of this.host.peers()) {
      const open = decision.unchoke.has(p.key);
      this.set(p, !open, now);
      if (open) unchoked.push({ address: p.address, reason: decision.reasons.get(p.key) ?? '' });
    }
    this.host.emit({ type: 'choke-round', unchoked });
  }

  /** Slots in use. */
  private unchoked(): number {
    let n = 0;
    for (const p of this.host.peers()) if (!p.amChoking) n++;
    return n;
  }

  private set(peer: PeerConnection, choke: boolean, now: number): void {
    if (peer.amChoking === choke) return;
    peer.amChoking = choke;
    peer.send({ type: choke ? 'choke' : 'unchoke' }, now);
    if (choke) this.host.choked(peer);
  }

  /** A slot came free between rounds: unchoke whom the choker ranks first among the choked. */
  private fill(now: number): void {
    if (this.unchoked() >= this.choker.unchokeSlots) return;
    const choked = new Set<PeerKey>();
    for (const p of this.host.peers()) if (p.amChoking) choked.add(p.key);
    const key = this.choker.fill(this.candidates(now), choked, this.host.seeding());
    const peer = key === undefined ? undefined : this.host.peer(key);
    if (peer !== undefined) this.set(peer, false, now);
  }

  private candidates(now: number): ChokeCandidate[] {
    return [...this.host.peers()].map((p) => ({
      peer: p.key,
      interested: p.peerInterested,
      downloadRate: p.downloadAverage.rate(now),
      uploadRate: p.uploadAverage.rate(now),
      connectedAt: p.connectedAt,
      snubbed: p.snubbed,
    }));
  }
}
