import type { Random } from '../net/random.js';
import type { PeerKey } from './picker.js';

/*
 * Tit-for-tat choking, from Cohen, "Incentives Build Robustness in
 * BitTorrent" (2003) §3.2-3.5: every 10 s unchoke the peers that upload to
 * us fastest (by a rolling rate, so it is stable; the engine measures it), and
 * every 30 s one more peer chosen at random, the "optimistic unchoke", which
 * lets a peer that uploads better than our current partners be discovered and
 * gives newcomers a first piece (§3.3). A peer that sent us nothing for a
 * minute though we asked is "snubbed": it gets no regular slot, only an
 * optimistic one (§3.4). A seed has nothing to download, so it ranks peers by
 * how fast we upload to them (§3.5) or, as an option, serves them round robin.
 *
 * As libtorrent's unchoke_sort, this only decides: the engine sends the
 * choke/unchoke messages (BEP 3) for the difference with the previous round.
 */

export interface ChokeCandidate {
  readonly peer: PeerKey;
  /** The peer is interested in our pieces. */
  readonly interested: boolean;
  /** Bytes/s it sends us (rank by this while we download). */
  readonly downloadRate: number;
  /** Bytes/s we send it (rank by this while seeding). */
  readonly uploadRate: number;
  /** ms, the clock's time when the connection was made. */
  readonly connectedAt: number;
  /** Sent us nothing for a long while though we asked. */
  readonly snubbed: boolean;
}

export interface ChokerInit {
  readonly random: Random;
  /** Regular unchoke slots. @default 4 */
  readonly slots?: number;
  /** How often the engine calls decide. @default 10000 */
  readonly unchokeIntervalMs?: number;
  /** @default 30000 */
  readonly optimisticIntervalMs?: number;
  /** Whether to have the optimistic unchoke at all (off: the lab's comparison, and a free rider). @default true */
  readonly optimistic?: boolean;
  /** A connection younger than this is "new" and three times as likely to get the optimistic unchoke. @default 60000 */
  readonly newPeerMs?: number;
  /** How a seeder ranks: by upload rate, or round robin. @default 'rate' */
  readonly seedMode?: 'rate' | 'round-robin';
}

export interface ChokeDecision {
  /** Peers to unchoke (everyone else is choked), regular slots and the optimistic one. */
  readonly unchoke: ReadonlySet<PeerKey>;
  readonly optimistic: PeerKey | undefined;
  /** Why each unchoked peer is unchoked, for --verbose: e.g. 'top-1 download 1.2 MB/s' or 'optimistic'. */
  readonly reasons: ReadonlyMap<PeerKey, string>;
}

/** New connections are three times as likely to be the optimistic unchoke (the mainline client; wiki.theory.org's BitTorrent specification, "Choking and Optimistic Unchoking"). */
const NEW_PEER_WEIGHT = 3;

export class Choker {
  readonly slots: number;
  readonly unchokeIntervalMs: number;
  readonly optimisticIntervalMs: number;
  readonly newPeerMs: number;
  readonly seedMode: 'rate' | 'round-robin';
  readonly optimisticOn: boolean;
  private readonly random: Random;
  private current: PeerKey | undefined;
  private optimisticSince = -Infinity;
  /** Last round's regular slots: on equal rates they keep their slot (no flapping). */
  private regular = new Set<PeerKey>();
  /** Round robin: when each peer last held a regular slot. */
  private readonly lastSlot = new Map<PeerKey, number>();

  constructor(init: ChokerInit) {
    this.random = init.random;
    this.slots = init.slots ?? 4;
    this.unchokeIntervalMs = init.unchokeIntervalMs ?? 10_000;
    this.optimisticIntervalMs = init.optimisticIntervalMs ?? 30_000;
    this.newPeerMs = init.newPeerMs ?? 60_000;
    this.seedMode = init.seedMode ?? 'rate';
    this.optimisticOn = init.optimistic ?? true;
  }

  /** Peers unchoked at once: the regular slots and the optimistic one. */
  get unchokeSlots(): number {
    return this.slots + (this.optimisticOn ? 1 : 0);
  }

  /** The current optimistic unchoke. */
  get optimistic(): PeerKey | undefined {
    return this.current;
  }

  decide(candidates: readonly ChokeCandidate[], now: number, seeding: boolean): ChokeDecision {
    const reasons = new Map<PeerKey, string>();
    const present = new Set(candidates.map((c) => c.peer));
    for (const peer of this.lastSlot.keys()) if (!present.has(peer)) this.lastSlot.delete(peer);

    // The optimistic peer keeps its slot for the whole optimisticIntervalMs
    // (the time Cohen §3.3 gives a trial to show what the peer sends back) and
    // takes no regular slot meanwhile, as in libtorrent; so the slot turns
    // over on a fixed schedule and a peer that never reciprocates gets its
    // share of trials, no more. Refilled at once if its peer left or lost
    // interest. Half a round of slack, so a timer firing a little early does
    // not delay the rotation by a round.
    const cur = candidates.find((c) => c.peer === this.current);
    const due = now - this.optimisticSince >= this.optimisticIntervalMs - this.unchokeIntervalMs / 2;
    const keep = cur !== undefined && cur.interested && !due;

    // Regular slots: interested, not snubbed, ranked. Every comparator ends in
    // the peer key so the order never depends on the caller's array order.
    const eligible = candidates.filter((c) => c.interested && !c.snubbed && !(keep && c.peer === this.current));
    const older = (a: ChokeCandidate, b: ChokeCandidate): number => a.connectedAt - b.connectedAt || a.peer - b.peer;
    let chosen: ChokeCandidate[];
    if (seeding && this.seedMode === 'round-robin') {
      // Whoever waited longest since its last slot goes first; with N peers
      // and S slots everyone is served once every ceil(N / S) rounds.
      const waited = (c: ChokeCandidate): number => this.lastSlot.get(c.peer) ?? -Infinity;
      chosen = eligible.sort((a, b) => waited(a) - waited(b) || older(a, b)).slice(0, this.slots);
      for (const c of chosen) reasons.set(c.peer, 'round-robin');
    } else {
      const rate = (c: ChokeCandidate): number => (seeding ? c.uploadRate : c.downloadRate);
      const kept = (c: ChokeCandidate): number => (this.regular.has(c.peer) ? 0 : 1);
      chosen = eligible.sort((a, b) => rate(b) - rate(a) || kept(a) - kept(b) || older(a, b)).slice(0, this.slots);
      chosen.forEach((c, i) => reasons.set(c.peer, `top-${i + 1} ${seeding ? 'upload' : 'download'} ${formatRate(rate(c))}`));
    }
    this.regular = new Set(chosen.map((c) => c.peer));
    for (const peer of this.regular) this.lastSlot.set(peer, now);

    if (!this.optimisticOn) {
      this.current = undefined;
    } else if (!keep) {
      let pool = candidates.filter((c) => c.interested && !this.regular.has(c.peer)).sort((a, b) => a.peer - b.peer);
      // Rotating means someone else, when there is anyone else.
      if (pool.length > 1 && cur !== undefined) pool = pool.filter((c) => c.peer !== cur.peer);
      const next = this.weightedPick(pool, now);
      this.current = next?.peer;
      if (next !== undefined) this.optimisticSince = now;
    }
    const unchoke = new Set(this.regular);
    if (this.current !== undefined) {
      this.lastSlot.set(this.current, now);
      unchoke.add(this.current);
      reasons.set(this.current, 'optimistic');
    }
    return { unchoke, optimistic: this.current, reasons };
  }

  /**
   * A free upload slot between rounds (an unchoked peer lost interest or left): the choked candidate that the next
   * round would rank first, if any. Nobody is choked for it, so a slot that empties does not reshuffle the others.
   */
  fill(candidates: readonly ChokeCandidate[], choked: ReadonlySet<PeerKey>, seeding: boolean): PeerKey | undefined {
    const rate = (c: ChokeCandidate): number => (seeding ? c.uploadRate : c.downloadRate);
    let best: ChokeCandidate | undefined;
    for (const c of candidates) {
      if (!c.interested || c.snubbed || !choked.has(c.peer)) continue;
      if (best === undefined || rate(c) > rate(best) || (rate(c) === rate(best) && (c.connectedAt - best.connectedAt || c.peer - best.peer) < 0)) best = c;
    }
    return best?.peer;
  }

  private weightedPick(pool: readonly ChokeCandidate[], now: number): ChokeCandidate | undefined {
    const weight = (c: ChokeCandidate): number => (now - c.connectedAt < this.newPeerMs ? NEW_PEER_WEIGHT : 1);
    let total = 0;
    for (const c of pool) total += weight(c);
    let x = this.random() * total;
    for (const c of pool) {
      x -= weight(c);
      if (x < 0) return c;
    }
    return pool[pool.length - 1];
  }
}

/** 1234567 -> '1.2 MB/s' (decimal units, as transfer rates are usually quoted). */
export function formatRate(bytesPerSecond: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSecond;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]!}`;
}
