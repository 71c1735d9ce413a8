import type { Endpoint } from '../../net/index.js';
import type { LeaderInfo } from './codec.js';
import { endpointKey } from './util.js';

/*
 * The leaders a node has heard of, other than itself: from the lists it is
 * sent (welcome, leaders, redirect, promote) and from its own links. Bounded
 * (the entry heard of longest ago goes first), with a backoff for leaders
 * that did not answer and forgotten after a few failures, so a dead leader
 * does not stay in the table. Pure: the caller passes the time.
 *
 * A leader only ever advertises what it knows first-hand (itself and its
 * links), so a dead leader disappears from everyone's lists once the
 * leaders linked to it notice, instead of being passed around forever.
 */

export interface KnownLeader {
  readonly address: Endpoint;
  /** Members and capacity as last reported; maxMembers 0 when not known yet. */
  members: number;
  maxMembers: number;
  heardAt: number;
  failures: number;
  retryAt: number;
}

const BACKOFF_MS = 2_000;
const MAX_BACKOFF_MS = 5 * 60_000;

export class KnownLeaders {
  private readonly map = new Map<string, KnownLeader>();
  private readonly self = new Set<string>();

  constructor(
    private readonly capacity = 256,
    /** Failures in a row after which a leader is forgotten (a member, with nowhere else to go, never forgets). */
    private readonly forgetAfter = 4,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** An address that reaches this node itself: never listed, never dialled. */
  markSelf(e: Endpoint): void {
    const k = endpointKey(e);
    this.self.add(k);
    this.map.delete(k);
    // Bounded like the table: a node has few addresses, but they come from peers.
    if (this.self.size > 64) this.self.delete(this.self.values().next().value as string);
  }

  isSelf(e: Endpoint): boolean {
    return this.self.has(endpointKey(e));
  }

  get(e: Endpoint): KnownLeader | undefined {
    return this.map.get(endpointKey(e));
  }

  /** Add or refresh a leader; `firstHand` (a link, an answer) also clears its failures. */
  learn(info: LeaderInfo, now: number, firstHand = false): void {
    const k = endpointKey(info.address);
    if (this.self.has(k)) return;
    const known = this.map.get(k);
    if (known !== undefined) {
      if (info.maxMembers > 0 || firstHand) {
        known.members = info.members;
        known.maxMembers = info.maxMembers;
      }
      known.heardAt = now;
      if (firstHand) {
        known.failures = 0;
        known.retryAt = 0;
      }
      return;
    }
    if (this.map.size >= this.capacity) {
      let oldest: KnownLeader | undefined;
      for (const l of this.map.values()) if (oldest === undefined || l.heardAt < oldest.heardAt) oldest = l;
      if (oldest !== undefined) this.map.delete(endpointKey(oldest.address));
    }
    this.map.set(k, { address: info.address, members: info.members, maxMembers: info.maxMembers, heardAt: now, failures: 0, retryAt: 0 });
  }

  /** It did not answer: wait longer before the next try, and forget it after `forgetAfter` failures. */
  failed(e: Endpoint, now: number): void {
    const k = endpointKey(e);
    const known = this.map.get(k);
    if (known === undefined) return;
    known.failures++;
    if (known.failures >= this.forgetAfter) this.map.delete(k);
    else known.retryAt = now + Math.min(MAX_BACKOFF_MS, BACKOFF_MS * 2 ** Math.min(known.failures - 1, 20));
  }

  forget(e: Endpoint): void {
    this.map.delete(endpointKey(e));
  }

  /** Drop entries not heard of for `maxAgeMs`, except those `keep` says. */
  expire(now: number, maxAgeMs: number, keep: (key: string) => boolean): void {
    for (const [k, l] of this.map) if (now - l.heardAt > maxAgeMs && !keep(k)) this.map.delete(k);
  }

  list(): KnownLeader[] {
    return [...this.map.values()];
  }

  /** Leaders that reported room for another member, least loaded first. */
  withRoom(): KnownLeader[] {
    return this.list()
      .filter((l) => l.maxMembers > l.members)
      .sort((a, b) => a.members / a.maxMembers - b.members / b.maxMembers);
  }

  /** Where to try to attach, best first: those with room, then the unknown, then the full ones; each group by fewest failures. */
  attachOrder(): Endpoint[] {
    const rank = (l: KnownLeader): number => (l.maxMembers === 0 ? 1 : l.members < l.maxMembers ? 0 : 2);
    return this.list()
      .sort((a, b) => rank(a) - rank(b) || a.failures - b.failures || a.members - b.members)
      .map((l) => l.address);
  }
}
