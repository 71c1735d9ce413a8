import { realClock, systemRandom, tcpTransport, type Clock, type Endpoint, type Random, type StreamConnection, type StreamListener, type StreamTransport, type Timer } from '../../net/index.js';
import { Channel } from '../common/channel.js';
import { OverlayError } from '../common/errors.js';
import { formatEndpoint, type Query, type SharedFile, type Source } from '../common/shared.js';
import { ID_BYTES, MAX_LEADER_LIST, superPeerCodec, type LeaderInfo, type SuperPeerMessage } from './codec.js';
import { IndexStore } from './index-store.js';
import { LeaderLinks } from './leader-links.js';
import { leaderSettings, type LeaderSettings, type SuperPeerLeaderOptions } from './leader-options.js';
import { keepAlive, MessageCounts, Peer, repeat, waitFor, type Role, type SuperPeerStats } from './peer.js';
import { Promotion } from './promotion.js';
import { QueryRouter } from './router.js';
import { HitCollector, type SearchOptions, type SearchResult } from './search.js';
import { randomHex, wireEndpoint } from './util.js';

/*
 * A super-peer: the leader of a group of members (FastTrack/Kazaa
 * supernodes, Gnutella 0.6 ultrapeers). Members upload the index of what
 * they share; a query from a member (or from a searcher that never joins)
 * is answered from that index and flooded, with a TTL, to the other leaders
 * only, which answer from theirs: hits come back along the reverse path.
 * Ordinary peers never see a query, which is why a search costs messages in
 * proportion to the leaders, not to the peers (docs/superpeer.md).
 */

const SELF = 'self';

export class SuperPeerLeader {
  readonly id: string;
  readonly clock: Clock;
  readonly transport: StreamTransport;
  readonly random: Random;
  private readonly s: LeaderSettings;
  private readonly store: IndexStore;
  private readonly own: IndexStore;
  private readonly filesPort: number;
  private readonly counts = new MessageCounts();
  private readonly peers = new Set<Peer>();
  private readonly memberPeers = new Map<string, Peer>();
  private readonly searchers = new Set<Peer>();
  private readonly router: QueryRouter;
  private readonly net: LeaderLinks;
  private readonly promotion: Promotion;
  private listener: StreamListener | undefined;
  private local: Endpoint | undefined;
  private loops: Timer[] = [];
  private broadcastTimer: Timer | undefined;
  private drained: (() => void) | undefined;
  private memberSeq = 0;
  private stopped = false;

  constructor(options: SuperPeerLeaderOptions = {}) {
    this.transport = options.transport ?? tcpTransport;
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? systemRandom();
    this.id = randomHex(this.random, ID_BYTES);
    this.s = leaderSettings(options);
    this.store = new IndexStore({ maxMembers: this.s.maxMembers, maxFilesPerMember: this.s.maxFilesPerMember });
    this.own = new IndexStore({ maxMembers: 1, maxFilesPerMember: this.s.maxFilesPerMember });
    this.filesPort = options.filesPort ?? 0;
    this.setFiles(options.files ?? []);
    this.router = new QueryRouter({ ...this.s, clock: this.clock, links: () => this.net.links, answer: (q, host) => this.answer(q, host) });
    this.net = new LeaderLinks(this, this.s);
    this.promotion = new Promotion(
      {
        clock: this.clock,
        members: () => this.memberPeers.values(),
        // This leader first: the promoted member links to it, which is how the promotion is seen to complete.
        promoteList: (p) => [this.selfFor(p)?.address ?? [], this.net.known.attachOrder()].flat().slice(0, MAX_LEADER_LIST),
        elsewhere: () => this.net.known.attachOrder().slice(0, 10),
        redirect: (p, to) => {
          p.send({ t: 'redirect', leaders: to });
          p.close();
        },
      },
      this.s.promoteTimeoutMs,
    );
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Accept members, searchers and links on host:port (0: any free port). */
  async listen(host: string, port: number): Promise<Endpoint> {
    if (this.closed) throw new OverlayError('closed', 'this leader is closed');
    if (this.listener !== undefined) throw new OverlayError('closed', 'this leader is already listening');
    this.listener = await this.transport.listen(host, port, (conn) => this.accept(conn));
    this.local = this.listener.local;
    const self = wireEndpoint(this.local.host, this.local.port);
    if (self !== undefined) this.net.known.markSelf(self);
    this.loops.push(
      repeat(this.clock, this.s.announceMs, () => this.announce()),
      repeat(this.clock, this.s.pingMs, () => this.keepAlive()),
    );
    return this.local;
  }

  /** Link with other leaders (up to targetLinks); resolves with the number of new links. */
  link(leaders: readonly Endpoint[]): Promise<number> {
    return this.net.link(leaders);
  }

  /** Where it listens, once listening. */
  address(): Endpoint | undefined {
    return this.local;
  }

  /** Replace the files this leader shares itself. */
  setFiles(files: readonly SharedFile[]): void {
    this.own.removeMember(SELF);
    this.own.addMember(SELF, { host: '0.0.0.0', port: this.filesPort || 1 });
    this.own.add(SELF, files);
  }

  /** The members' connection addresses. */
  members(): Endpoint[] {
    return [...this.memberPeers.values()].map((p) => p.ch.remote);
  }

  stats(): SuperPeerStats {
    return {
      ...this.counts.snapshot(),
      members: this.memberPeers.size,
      files: this.store.fileCount + this.own.fileCount,
      leaders: this.net.count(),
      links: this.net.links.size,
      duplicates: this.router.duplicates,
      promotions: this.promotion.completed,
      searchers: this.searchers.size,
      droppedHits: this.router.droppedHits,
      droppedQueries: this.router.droppedQueries,
    };
  }

  /** Search as if a member of this leader asked (what a promoted member does). */
  async search(query: Query, options: SearchOptions): Promise<SearchResult> {
    if (this.closed) throw new OverlayError('closed', 'this leader is closed');
    const id = randomHex(this.random, ID_BYTES);
    const collector = new HitCollector(options.onHit);
    const host = this.local === undefined ? undefined : wireEndpoint(this.local.host, 1)?.host;
    this.router.ask(id, query, options.ttl, host ?? '127.0.0.1', (hops, sources) => collector.add(sources, hops));
    await waitFor(this.clock, options.waitMs, options.signal);
    this.router.forget(id);
    return { hits: collector.hits };
  }

  /** Say bye to everyone and stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopped = true;
    for (const t of this.loops) t.cancel();
    this.broadcastTimer?.cancel();
    this.promotion.stop();
    this.listener?.close();
    for (const p of [...this.peers]) p.close('leader closing');
    if (this.peers.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.clock.setTimer(1_000, resolve);
        this.drained = () => {
          timer.cancel();
          resolve();
        };
      });
    }
    // Peers that did not close their side in time.
    for (const p of [...this.peers]) p.ch.fail(new OverlayError('closed', 'leader closed'));
  }

  // ---- the LinkHost side (leader-links.ts) ----

  listenPort(): number | undefined {
    return this.local?.port;
  }

  hello(): Extract<SuperPeerMessage, { t: 'link' }> {
    return { t: 'link', id: this.id, port: this.local?.port ?? 1, members: this.memberPeers.size, maxMembers: this.s.maxMembers };
  }

  adopt(conn: StreamConnection, role: Role): Peer {
    const peer = new Peer(new Channel(conn, superPeerCodec), this.counts, role, this.clock.now());
    this.peers.add(peer);
    peer.ch.onMessage((m) => this.onMessage(peer, m));
    peer.ch.onClose(() => this.onClose(peer));
    return peer;
  }

  linkUp(peer: Peer): void {
    peer.send({ t: 'leaders', leaders: this.leadersFor(peer) });
    this.promotion.onLinkUp(peer);
  }

  linksChanged(): void {
    if (this.closed || this.broadcastTimer !== undefined) return;
    // Several changes in a row (a leader linking to a few others) make one round of lists.
    this.broadcastTimer = this.clock.setTimer(50, () => {
      this.broadcastTimer = undefined;
      this.broadcast();
      this.checkLeaders();
    });
  }

  // ---- connections ----

  private accept(conn: StreamConnection): void {
    const cap = this.s.maxMembers + 100 + this.s.maxSearchers;
    if (this.closed || this.peers.size >= cap) return conn.destroy();
    // Whatever address reaches us at our port is ours: never dial it.
    const self = wireEndpoint(conn.local.host, this.local?.port ?? 0);
    if (self !== undefined) this.net.known.markSelf(self);
    this.adopt(conn, 'new');
  }

  private onMessage(peer: Peer, m: SuperPeerMessage): void {
    if (this.closed) return;
    peer.heard(m, this.clock.now());
    if (m.t === 'ping') return void peer.send({ t: 'pong' });
    if (m.t === 'pong') return;
    if (m.t === 'bye') return peer.ch.close();
    switch (peer.role) {
      case 'new':
        if (m.t === 'join') return this.onJoin(peer, m);
        if (m.t === 'link') return this.net.onHello(peer, m);
        if (m.t === 'query') {
          if (this.searchers.size >= this.s.maxSearchers) return peer.close('too many searchers');
          peer.role = 'searcher';
          this.searchers.add(peer);
          return this.router.onQuery(peer, m);
        }
        break;
      case 'dialing':
        if (m.t === 'link') return this.net.onHello(peer, m);
        // A leader refusing our link (it is full) names the leaders it is linked to.
        if (m.t === 'leaders') return this.net.onLeaders(peer, m.leaders);
        break;
      case 'member':
        // A member admitted without a files address has no listing: its adds and removes change nothing.
        if (m.t === 'add') return void this.store.add(peer.key, m.files);
        if (m.t === 'remove') return void this.store.remove(peer.key, m.hashes);
        if (m.t === 'query') return this.router.onQuery(peer, m);
        break;
      case 'searcher':
        if (m.t === 'query') return this.router.onQuery(peer, m);
        break;
      case 'link':
        // Anything after the hellos: the other side has this link up too.
        peer.confirmed = true;
        if (m.t === 'query') return this.router.onQuery(peer, m);
        if (m.t === 'hit') return this.router.onHit(peer, m);
        if (m.t === 'leaders') return this.net.onLeaders(peer, m.leaders);
        break;
      case 'waiting':
        break;
    }
    peer.ch.fail(new OverlayError('bad-message', `unexpected "${m.t}" from ${peer.role === 'new' ? 'a new connection' : `a ${peer.role}`} at ${formatEndpoint(peer.ch.remote)}`));
  }

  private onClose(peer: Peer): void {
    this.peers.delete(peer);
    if (peer.role === 'member') {
      this.memberPeers.delete(peer.key);
      this.store.removeMember(peer.key);
    }
    this.searchers.delete(peer);
    this.router.release(peer);
    this.promotion.onClosed(peer);
    if (peer.role === 'link' || peer.role === 'dialing') this.net.onClosed(peer);
    if (this.closed && this.peers.size === 0) this.drained?.();
  }

  // ---- members ----

  private onJoin(peer: Peer, m: Extract<SuperPeerMessage, { t: 'join' }>): void {
    if (this.memberPeers.size < this.s.maxMembers) return this.admit(peer, m);
    const room = this.net.known.withRoom().map((l) => l.address);
    if (room.length > 0) {
      peer.send({ t: 'redirect', leaders: room.slice(0, 10) });
      return peer.close();
    }
    if ((this.promotion.active || this.promotion.start()) && this.promotion.hold(peer)) return;
    const elsewhere = this.net.known.attachOrder().slice(0, 10);
    if (elsewhere.length === 0) return peer.close('the leader is full');
    peer.send({ t: 'redirect', leaders: elsewhere });
    peer.close();
  }

  private admit(peer: Peer, m: Extract<SuperPeerMessage, { t: 'join' }>): void {
    const key = `m${++this.memberSeq}`;
    // Files are served at the address this connection comes from, on the member's files port.
    // Without one (files port 0, or a connection that is not IPv4) nothing can be served: such a
    // member gets no listing, so its join files and later adds are ignored rather than indexed
    // under an address nobody could download from.
    const address = wireEndpoint(peer.ch.remote.host, m.filesPort);
    if (address !== undefined && this.store.addMember(key, address)) this.store.add(key, m.files);
    peer.role = 'member';
    peer.key = key;
    peer.attachedAt = this.clock.now();
    peer.capable = m.leaderPort === undefined ? undefined : wireEndpoint(peer.ch.remote.host, m.leaderPort);
    this.memberPeers.set(key, peer);
    peer.send({ t: 'welcome', maxFiles: this.store.maxFilesPerMember, leaders: this.leadersFor(peer) });
    this.checkLeaders();
  }

  /** Too few leaders known and members to spare: promote one. */
  private checkLeaders(): void {
    if (this.closed || this.promotion.active || this.memberPeers.size < 2 || this.net.count() >= this.s.minLeaders) return;
    this.promotion.start();
  }

  private selfFor(peer: Peer): LeaderInfo | undefined {
    const address = wireEndpoint(peer.ch.local.host, this.local?.port ?? 0);
    return address === undefined ? undefined : { address, members: this.memberPeers.size, maxMembers: this.s.maxMembers };
  }

  /** The list sent to `peer`: this leader (as `peer` reaches it) first, then its links. */
  leadersList(peer: Peer): LeaderInfo[] {
    return this.leadersFor(peer);
  }

  private leadersFor(peer: Peer): LeaderInfo[] {
    return this.net.leadersFor(this.selfFor(peer));
  }

  private broadcast(): void {
    for (const p of [...this.memberPeers.values(), ...this.net.links]) p.send({ t: 'leaders', leaders: this.leadersFor(p) });
  }

  private announce(): void {
    // Leaders heard of only second-hand are forgotten when nobody mentions them for a while.
    this.net.expire(3 * this.s.announceMs);
    this.broadcast();
    this.net.maintain();
    this.checkLeaders();
  }

  private keepAlive(): void {
    const now = this.clock.now();
    const drop = (p: Peer, why: string): void => p.ch.fail(new OverlayError('timeout', `${formatEndpoint(p.ch.remote)} ${why}`));
    for (const p of [...this.peers]) if (p.role === 'new' && now - p.lastHeard > this.s.helloTimeoutMs) drop(p, 'said nothing');
    keepAlive([...this.peers].filter((p) => p.role !== 'new'), now, this.s.pingMs, (p) => drop(p, 'stopped answering'));
  }

  /** Matches in the members' index and among this leader's own files (served at `host`). */
  private answer(query: Query, host: string): Source[] {
    const found = this.store.search(query, this.s.maxResults);
    if (this.filesPort > 0 && found.length < this.s.maxResults) {
      for (const s of this.own.search(query, this.s.maxResults - found.length)) found.push({ ...s, address: { host, port: this.filesPort } });
    }
    return found;
  }
}
