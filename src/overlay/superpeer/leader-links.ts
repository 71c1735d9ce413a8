import type { Clock, Endpoint, Random, StreamConnection, StreamTransport } from '../../net/index.js';
import { OverlayError } from '../common/errors.js';
import { formatEndpoint } from '../common/shared.js';
import type { LeaderInfo, SuperPeerMessage } from './codec.js';
import { KnownLeaders } from './known-leaders.js';
import type { Peer, Role } from './peer.js';
import { endpointKey, wireEndpoint } from './util.js';

/*
 * A leader's links to other leaders. Leaders form their own small overlay,
 * which queries are flooded over: each leader dials up to targetLinks
 * others (from link() and from the `leaders` lists it is sent) and accepts
 * up to maxLinks. A link starts with a `link` hello each way carrying the
 * leader's random id: a hello with our own id is a connection to ourselves
 * (its address is marked as ours), and when two leaders dial each other at
 * once both keep the link dialled by the smaller id, so each pair has one.
 * A link that is up is never given up for a newcomer claiming the same id.
 * A lost link is replaced from the known leaders.
 */

type Hello = Extract<SuperPeerMessage, { t: 'link' }>;

/** What the links need from their leader. */
export interface LinkHost {
  readonly id: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: StreamTransport;
  readonly closed: boolean;
  /** The port it listens on (undefined before listen). */
  listenPort(): number | undefined;
  hello(): Hello;
  /** Wrap a new connection in a Peer with handlers. */
  adopt(conn: StreamConnection, role: Role): Peer;
  /** A link is up (after the hellos). */
  linkUp(peer: Peer): void;
  /** A link went away or came up: lists to send, promotion to check. */
  linksChanged(): void;
  /** The `leaders` list this leader would send `peer`. */
  leadersList(peer: Peer): LeaderInfo[];
}

export interface LinkOptions {
  readonly targetLinks: number;
  readonly maxLinks: number;
  readonly connectTimeoutMs: number;
  readonly helloTimeoutMs: number;
}

export class LeaderLinks {
  readonly links = new Set<Peer>();
  readonly known = new KnownLeaders();
  private readonly dialing = new Set<string>();

  constructor(
    private readonly host: LinkHost,
    private readonly options: LinkOptions,
  ) {}

  /** Leaders known, this one included. */
  count(): number {
    return this.known.size + 1;
  }

  private linkedTo(key: string): boolean {
    for (const l of this.links) if (l.address !== undefined && endpointKey(l.address) === key) return true;
    return false;
  }

  /** Dial `leaders` (in order, a few at once) until targetLinks links are up; the number of new links. */
  async link(leaders: readonly Endpoint[]): Promise<number> {
    if (this.host.listenPort() === undefined) throw new OverlayError('closed', 'a leader must listen before it links to other leaders');
    const now = this.host.clock.now();
    const todo = [...new Map(leaders.map((e) => [endpointKey(e), e])).values()].filter((e) => !this.known.isSelf(e) && !this.linkedTo(endpointKey(e)));
    for (const e of todo) this.known.learn({ address: e, members: 0, maxMembers: 0 }, now);
    let made = 0;
    let i = 0;
    while (i < todo.length && this.links.size < this.options.targetLinks && !this.host.closed) {
      const batch = todo.slice(i, i + Math.max(1, this.options.targetLinks - this.links.size));
      i += batch.length;
      made += (await Promise.all(batch.map((e) => this.dial(e)))).filter(Boolean).length;
    }
    return made;
  }

  /** Dial known leaders when under targetLinks. */
  maintain(): void {
    if (this.host.closed || this.host.listenPort() === undefined) return;
    const need = this.options.targetLinks - this.links.size - this.dialing.size;
    if (need <= 0) return;
    const now = this.host.clock.now();
    // In random order (fewest failures first), so that leaders that came in through the same
    // leader do not all link to the same few and make them hubs.
    const candidates = this.known
      .list()
      .filter((l) => l.retryAt <= now && !this.dialing.has(endpointKey(l.address)) && !this.linkedTo(endpointKey(l.address)))
      .map((l) => ({ l, r: this.host.random() }))
      .sort((a, b) => a.l.failures - b.l.failures || a.r - b.r);
    for (const { l } of candidates.slice(0, need)) void this.dial(l.address);
  }

  private async dial(to: Endpoint): Promise<boolean> {
    const key = endpointKey(to);
    if (this.host.closed || this.dialing.has(key) || this.linkedTo(key) || this.known.isSelf(to)) return false;
    this.dialing.add(key);
    try {
      let conn: StreamConnection;
      try {
        conn = await this.host.transport.connect(to, { timeoutMs: this.options.connectTimeoutMs });
      } catch {
        this.known.failed(to, this.host.clock.now());
        return false;
      }
      if (this.host.closed) {
        conn.destroy();
        return false;
      }
      // Others list us under the address our connections come from.
      const self = wireEndpoint(conn.local.host, this.host.listenPort() ?? 0);
      if (self !== undefined) this.known.markSelf(self);
      const peer = this.host.adopt(conn, 'dialing');
      peer.address = to;
      peer.outbound = true;
      const ok = await new Promise<boolean>((resolve) => {
        const timer = this.host.clock.setTimer(this.options.helloTimeoutMs, () => peer.ch.fail(new OverlayError('timeout', `${formatEndpoint(to)} sent no link hello`)));
        peer.onHello = (result) => {
          timer.cancel();
          peer.onHello = undefined;
          resolve(result);
        };
        peer.send(this.host.hello());
      });
      // Refused because we are linked to it already (it dialled us at the same time): not a failure.
      if (!ok && !this.known.isSelf(to) && !this.linkedTo(key)) this.known.failed(to, this.host.clock.now());
      return ok;
    } finally {
      this.dialing.delete(key);
    }
  }

  /** A `link` hello: from a new connection (it dials us) or on one we dialled (the answer). */
  onHello(peer: Peer, m: Hello): void {
    const ok = this.register(peer, m);
    peer.onHello?.(ok);
  }

  private register(peer: Peer, m: Hello): boolean {
    const now = this.host.clock.now();
    if (m.id === this.host.id) {
      // We reached ourselves: remember every address that does so.
      if (peer.address !== undefined) this.known.markSelf(peer.address);
      peer.close();
      return false;
    }
    if (!peer.outbound) {
      const address = wireEndpoint(peer.ch.remote.host, m.port);
      if (address === undefined) {
        peer.close('links are IPv4 only');
        return false;
      }
      peer.address = address;
    }
    const existing = [...this.links].find((l) => l.leaderId === m.id);
    if (existing !== undefined) {
      // Two links to one leader. Ids are no secret (a leader says its own in every hello), so a
      // link that is up is never replaced: a new inbound hello with a linked leader's id is
      // refused. Only when the two leaders dialled each other at once (the answer to our dial
      // arrives while their dial to us is still in its handshake, not yet confirmed by them) do
      // both sides keep the link dialled by the smaller id, so the pair ends with one link.
      const handshaking = peer.outbound && !existing.outbound && !existing.confirmed;
      const dialer = (l: Peer, theirs: string): string => (l.outbound ? this.host.id : theirs);
      if (!handshaking || !(dialer(peer, m.id) < dialer(existing, m.id))) {
        peer.close('already linked');
        return false;
      }
      existing.close();
      this.links.delete(existing);
    } else if (!peer.outbound && this.links.size >= this.options.maxLinks) {
      // Full: say whom we are linked to, so the newcomer can try them rather than stay alone.
      peer.send({ t: 'leaders', leaders: this.host.leadersList(peer) });
      peer.close('too many links');
      return false;
    }
    peer.role = 'link';
    // Their answer to our hello means they have the link up already.
    peer.confirmed = peer.outbound;
    peer.leaderId = m.id;
    peer.members = m.members;
    peer.maxMembers = m.maxMembers;
    this.links.add(peer);
    if (peer.address !== undefined) this.known.learn({ address: peer.address, members: m.members, maxMembers: m.maxMembers }, now, true);
    if (!peer.outbound) peer.send(this.host.hello());
    this.host.linkUp(peer);
    this.host.linksChanged();
    return true;
  }

  /** A linked leader's list: the first entry is the sender itself, the others its links. */
  onLeaders(peer: Peer, leaders: readonly LeaderInfo[]): void {
    const now = this.host.clock.now();
    const [sender, ...others] = leaders;
    if (sender !== undefined) {
      peer.members = sender.members;
      peer.maxMembers = sender.maxMembers;
      if (peer.address !== undefined) this.known.learn({ ...sender, address: peer.address }, now, true);
    }
    for (const l of others) this.known.learn(l, now);
    if (this.links.size < this.options.targetLinks) this.maintain();
  }

  /** A link or a dial closed. */
  onClosed(peer: Peer): void {
    if (peer.role === 'dialing') {
      peer.onHello?.(false);
      return;
    }
    if (!this.links.delete(peer) || this.host.closed) return;
    const stillLinked = [...this.links].some((l) => l.leaderId === peer.leaderId);
    if (!peer.closing && !stillLinked && peer.address !== undefined) this.known.forget(peer.address);
    this.host.linksChanged();
    this.maintain();
  }

  /** Forget leaders not heard of (first- or second-hand) for `maxAgeMs`; linked ones stay. */
  expire(maxAgeMs: number): void {
    const linked = new Set([...this.links].flatMap((l) => (l.address === undefined ? [] : [endpointKey(l.address)])));
    this.known.expire(this.host.clock.now(), maxAgeMs, (k) => linked.has(k));
  }

  /** What this leader knows first-hand, as sent in lists: itself (when `self` is given), then its links. */
  leadersFor(self: LeaderInfo | undefined): LeaderInfo[] {
    const out: LeaderInfo[] = self === undefined ? [] : [self];
    for (const l of this.links) if (l.address !== undefined) out.push({ address: l.address, members: l.members, maxMembers: l.maxMembers });
    return out;
  }
}
