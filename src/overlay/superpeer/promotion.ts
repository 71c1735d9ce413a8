import type { Clock, Endpoint, Timer } from '../../net/index.js';
import type { Peer } from './peer.js';
import { endpointKey } from './util.js';

/*
 * Making a new leader out of a member (FastTrack's supernode election, in
 * its simplest form). A leader that is full with no known leader that has
 * room, or that knows fewer than minLeaders leaders, sends `promote` to one
 * capable member, the one attached longest (it has shown it stays). The
 * member starts a leader on the address it gave in its join and links to
 * the leaders in the message, this one first. When that link arrives (its
 * address is the member's capable address), the promotion is complete:
 * newcomers held meanwhile are redirected to the new leader, and so is part
 * of this leader's members, so the two share the load. A promotion that does
 * not complete in time is abandoned (that member is not asked again) and
 * the newcomers go elsewhere or are refused.
 */

/** What promotion needs from its leader. */
export interface PromotionHost {
  readonly clock: Clock;
  /** Members attached now. */
  members(): Iterable<Peer>;
  /** This leader's address as `peer` reaches it, and the leaders it knows. */
  promoteList(peer: Peer): Endpoint[];
  /** Known leaders to send newcomers to when no promotion happens. */
  elsewhere(): Endpoint[];
  /** Send `peer` to `leaders` and close it. */
  redirect(peer: Peer, leaders: readonly Endpoint[]): void;
}

/** Newcomers held at once while a promotion runs. */
const MAX_WAITING = 16;

export class Promotion {
  private pending: { readonly candidate: Peer; readonly capableKey: string; readonly timer: Timer } | undefined;
  private readonly waiting: Peer[] = [];
  private readonly refused = new Set<string>();
  completed = 0;

  constructor(
    private readonly host: PromotionHost,
    private readonly timeoutMs: number,
  ) {}

  get active(): boolean {
    return this.pending !== undefined;
  }

  /** Ask the longest-attached capable member to lead. False when there is none (or one is already asked). */
  start(): boolean {
    if (this.pending !== undefined) return false;
    let best: Peer | undefined;
    for (const m of this.host.members()) {
      if (m.capable === undefined || m.closing || this.refused.has(m.key)) continue;
      if (best === undefined || m.attachedAt < best.attachedAt) best = m;
    }
    if (best?.capable === undefined) return false;
    const candidate = best;
    if (!candidate.send({ t: 'promote', leaders: this.host.promoteList(candidate) })) return false;
    const timer = this.host.clock.setTimer(this.timeoutMs, () => this.abandon());
    this.pending = { candidate, capableKey: endpointKey(best.capable), timer };
    return true;
  }

  /** Hold a newcomer until the promotion completes; false when too many wait already. */
  hold(peer: Peer): boolean {
    if (this.pending === undefined || this.waiting.length >= MAX_WAITING) return false;
    peer.role = 'waiting';
    this.waiting.push(peer);
    return true;
  }

  /** A link came up: the promoted member, if it is at the candidate's capable address. */
  onLinkUp(link: Peer): void {
    const p = this.pending;
    if (p === undefined || link.address === undefined || endpointKey(link.address) !== p.capableKey) return;
    p.timer.cancel();
    this.pending = undefined;
    this.completed++;
    const to = [link.address];
    const newcomers = this.waiting.splice(0);
    for (const w of newcomers) this.host.redirect(w, to);
    // Share the load: move members (the most recently attached) until the new leader has about as many.
    const staying = [...this.host.members()].filter((m) => m !== p.candidate && !m.closing).sort((a, b) => b.attachedAt - a.attachedAt);
    const move = Math.max(0, Math.floor((staying.length - newcomers.length) / 2));
    for (const m of staying.slice(0, move)) this.host.redirect(m, to);
  }

  onClosed(peer: Peer): void {
    this.refused.delete(peer.key);
    const i = this.waiting.indexOf(peer);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private abandon(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    this.refused.add(p.candidate.key);
    const elsewhere = this.host.elsewhere();
    for (const w of this.waiting.splice(0)) {
      if (elsewhere.length > 0) this.host.redirect(w, elsewhere);
      else w.close('the leader is full and could not promote a member');
    }
  }

  stop(): void {
    this.pending?.timer.cancel();
    this.pending = undefined;
  }
}
