import { realClock, systemRandom, tcpTransport, type Clock, type Endpoint, type Random, type StreamConnection, type StreamTransport, type Timer } from '../../net/index.js';
import { Channel } from '../common/channel.js';
import { OverlayError } from '../common/errors.js';
import { formatEndpoint, type Query, type SharedFile } from '../common/shared.js';
import { chunk, chunkFiles, ID_BYTES, MAX_BATCH_FILES, superPeerCodec, type SuperPeerMessage } from './codec.js';
import { KnownLeaders } from './known-leaders.js';
import { SuperPeerLeader } from './leader.js';
import type { SuperPeerLeaderOptions } from './leader-options.js';
import { addStats, keepAlive, MessageCounts, Peer, repeat, waitFor, type SuperPeerStats } from './peer.js';
import { HitCollector, wireTtl, type SearchOptions, type SearchResult } from './search.js';
import { endpointKey, randomHex } from './util.js';

/*
 * An ordinary peer of the super-peer overlay: it attaches to one leader,
 * uploads the index of what it shares, and sends its searches there. It
 * keeps the leaders lists it is sent, so when its leader goes away it
 * attaches to another (retrying on the clock until one answers) and uploads
 * its index again. A member that said it is capable (an address it could
 * listen on) may be asked to lead: it then runs a SuperPeerLeader with its
 * own files, links it with the leaders it was given, leaves its old leader
 * and from then on searches through its own leader.
 */

export interface SuperPeerMemberEvent {
  readonly kind: 'attached' | 'lost-leader' | 'promoted' | 'redirected';
  readonly leader?: Endpoint;
}

export interface SuperPeerMemberOptions {
  readonly transport?: StreamTransport;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly files?: readonly SharedFile[];
  /** Port of the HTTP server that serves `files`; 0 or absent: shares nothing. */
  readonly filesPort?: number;
  /** Where it would listen as a leader (a real port); absent: never promoted. */
  readonly capable?: Endpoint;
  /** Wait between rounds of attempts to re-attach. @default 2_000 */
  readonly retryMs?: number;
  /** Ping a silent leader after this long; drop it after 2.5 times this. @default 30_000 */
  readonly pingMs?: number;
  /** A leader that does not welcome or redirect in this long is skipped (longer than a leader's promoteTimeoutMs, since it may hold a newcomer while it promotes). @default 15_000 */
  readonly joinTimeoutMs?: number;
  /** @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** Options of the leader it runs if promoted. */
  readonly leader?: Omit<SuperPeerLeaderOptions, 'transport' | 'clock' | 'random' | 'files' | 'filesPort'>;
  readonly onEvent?: (e: SuperPeerMemberEvent) => void;
}

/** Redirects followed in one attempt to attach. */
const MAX_REDIRECTS = 16;

type JoinOutcome = { readonly kind: 'welcome' } | { readonly kind: 'redirect'; readonly to: readonly Endpoint[] } | { readonly kind: 'failed'; readonly why: string };

export class SuperPeerMember {
  private readonly transport: StreamTransport;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly retryMs: number;
  private readonly pingMs: number;
  private readonly joinTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly counts = new MessageCounts();
  private readonly known = new KnownLeaders(64, Infinity);
  private readonly searches = new Map<string, HitCollector>();
  private readonly lifetime = new AbortController();
  private readonly pinger: Timer;
  private files: SharedFile[];
  /** What the current leader holds of ours, by hash. */
  private uploaded = new Map<string, SharedFile>();
  private maxFiles = MAX_BATCH_FILES;
  private current: { readonly peer: Peer; readonly leader: Endpoint } | undefined;
  private reattaching = false;
  /** Where the last redirect sent us, not tried yet (the re-attach loop takes it). */
  private redirectedTo: readonly Endpoint[] = [];
  private promoting = false;
  private promoted: SuperPeerLeader | undefined;
  private closed = false;

  constructor(private readonly options: SuperPeerMemberOptions = {}) {
    this.transport = options.transport ?? tcpTransport;
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? systemRandom();
    this.retryMs = options.retryMs ?? 2_000;
    this.pingMs = options.pingMs ?? 30_000;
    this.joinTimeoutMs = options.joinTimeoutMs ?? 15_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.files = [...(options.files ?? [])];
    this.pinger = repeat(this.clock, this.pingMs, () => {
      if (this.current === undefined) return;
      keepAlive([this.current.peer], this.clock.now(), this.pingMs, (p) => p.ch.fail(new OverlayError('timeout', 'the leader stopped answering')));
    });
  }

  /** Attach to the first of `leaders` (or of the leaders it knows) that accepts, following redirects. */
  async attach(leaders: readonly Endpoint[]): Promise<Endpoint> {
    if (this.closed) throw new OverlayError('closed', 'this member is closed');
    const own = this.promoted?.address();
    if (own !== undefined) return own;
    const now = this.clock.now();
    for (const e of leaders) this.known.learn({ address: e, members: 0, maxMembers: 0 }, now);
    this.leave();
    return this.tryLeaders([...leaders, ...this.known.attachOrder()]);
  }

  /** Whether it has an HTTP server for its files (without one there is no index to upload). */
  private get sharing(): boolean {
    return this.options.filesPort !== undefined && this.options.filesPort > 0;
  }

  /** The leader it searches through: the one attached to, or its own once promoted. */
  leader(): Endpoint | undefined {
    return this.promoted?.address() ?? this.current?.leader;
  }

  promotedLeader(): SuperPeerLeader | undefined {
    return this.promoted;
  }

  /** Replace the shared files; the leader gets the difference. */
  setFiles(files: readonly SharedFile[]): void {
    this.files = [...files];
    this.promoted?.setFiles(files);
    const peer = this.current?.peer;
    if (peer === undefined || !this.sharing) return;
    const want = new Map(this.files.slice(0, this.maxFiles).map((f) => [f.hash, f]));
    const gone = [...this.uploaded.keys()].filter((h) => !want.has(h));
    const added = [...want.values()].filter((f) => !this.uploaded.has(f.hash));
    for (const part of chunk(gone, MAX_BATCH_FILES)) peer.send({ t: 'remove', hashes: part });
    for (const part of chunkFiles(added)) peer.send({ t: 'add', files: part });
    this.uploaded = want;
  }

  async search(query: Query, options: SearchOptions): Promise<SearchResult> {
    if (this.closed) throw new OverlayError('closed', 'this member is closed');
    if (this.promoted !== undefined) return this.promoted.search(query, options);
    const peer = this.current?.peer;
    if (peer === undefined) throw new OverlayError('unreachable', 'not attached to a leader (yet): nobody to ask');
    const id = randomHex(this.random, ID_BYTES);
    const collector = new HitCollector(options.onHit);
    this.searches.set(id, collector);
    try {
      peer.send({ t: 'query', id, ttl: wireTtl(options.ttl), hops: 0, query });
      await waitFor(this.clock, options.waitMs, options.signal === undefined ? this.lifetime.signal : AbortSignal.any([options.signal, this.lifetime.signal]));
    } finally {
      this.searches.delete(id);
    }
    return { hits: collector.hits };
  }

  stats(): SuperPeerStats {
    const mine: SuperPeerStats = {
      ...this.counts.snapshot(),
      members: 0,
      files: this.files.length,
      leaders: this.known.size,
      links: 0,
      duplicates: 0,
      promotions: 0,
      searchers: 0,
      droppedHits: 0,
      droppedQueries: 0,
    };
    if (this.promoted === undefined) return mine;
    // Its own files are counted by its leader now.
    return addStats({ ...mine, files: 0 }, this.promoted.stats());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lifetime.abort();
    this.pinger.cancel();
    this.leave('member leaving');
    await this.promoted?.close();
  }

  // ---- attaching ----

  private emit(kind: SuperPeerMemberEvent['kind'], leader: Endpoint | undefined): void {
    this.options.onEvent?.(leader === undefined ? { kind } : { kind, leader });
  }

  /** Close the current leader's connection on purpose. */
  private leave(reason?: string): void {
    const c = this.current;
    this.current = undefined;
    this.uploaded.clear();
    c?.peer.close(reason);
  }

  private async tryLeaders(candidates: readonly Endpoint[]): Promise<Endpoint> {
    const queue = [...candidates];
    const tried = new Set<string>();
    const why: string[] = [];
    let redirects = 0;
    while (queue.length > 0 && !this.closed && this.promoted === undefined) {
      const to = queue.shift()!;
      const k = endpointKey(to);
      if (tried.has(k)) continue;
      tried.add(k);
      const outcome = await this.join(to);
      if (outcome.kind === 'welcome') return to;
      if (outcome.kind === 'failed') {
        why.push(`${k}: ${outcome.why}`);
        continue;
      }
      this.emit('redirected', to);
      if (redirects++ < MAX_REDIRECTS) queue.unshift(...outcome.to.filter((e) => !tried.has(endpointKey(e))));
    }
    if (this.closed) throw new OverlayError('closed', 'this member is closed');
    const own = this.promoted?.address();
    if (own !== undefined) return own;
    throw new OverlayError('unreachable', `no leader accepted this member (${why.slice(0, 5).join('; ') || 'no leader known'})`);
  }

  private async join(to: Endpoint): Promise<JoinOutcome> {
    let conn: StreamConnection;
    try {
      conn = await this.transport.connect(to, { timeoutMs: this.connectTimeoutMs, signal: this.lifetime.signal });
    } catch (e) {
      this.known.failed(to, this.clock.now());
      return { kind: 'failed', why: e instanceof Error ? e.message : String(e) };
    }
    const peer = new Peer(new Channel(conn, superPeerCodec), this.counts, 'dialing', this.clock.now());
    const share = this.sharing;
    const batches = share ? chunkFiles(this.files) : [];
    const capable = this.options.capable;
    peer.send({ t: 'join', filesPort: share ? this.options.filesPort! : 0, ...(capable !== undefined && capable.port > 0 && { leaderPort: capable.port }), files: batches[0] ?? [] });
    return new Promise<JoinOutcome>((resolve) => {
      const timer = this.clock.setTimer(this.joinTimeoutMs, () => peer.ch.fail(new OverlayError('timeout', 'no welcome in time')));
      peer.ch.onClose((e) => {
        timer.cancel();
        resolve({ kind: 'failed', why: e?.message ?? 'closed the connection' });
      });
      peer.ch.onMessage((m) => {
        peer.heard(m, this.clock.now());
        if (m.t === 'welcome') {
          timer.cancel();
          this.attached(peer, to, m, share);
          resolve({ kind: 'welcome' });
        } else if (m.t === 'redirect') {
          timer.cancel();
          peer.close();
          resolve({ kind: 'redirect', to: m.leaders });
        } else if (m.t === 'ping') peer.send({ t: 'pong' });
        else if (m.t === 'bye') peer.ch.close();
        else if (m.t !== 'pong') peer.ch.fail(new OverlayError('bad-message', `unexpected "${m.t}" before welcome from ${formatEndpoint(to)}`));
      });
    });
  }

  private attached(peer: Peer, leader: Endpoint, welcome: Extract<SuperPeerMessage, { t: 'welcome' }>, share: boolean): void {
    if (this.closed) return peer.close('member leaving');
    this.leave();
    this.current = { peer, leader };
    const now = this.clock.now();
    this.known.learn({ address: leader, members: 0, maxMembers: 0 }, now, true);
    for (const l of welcome.leaders) this.known.learn(l, now, endpointKey(l.address) === endpointKey(leader));
    this.maxFiles = welcome.maxFiles;
    // The join carried the first batch; the rest follows (no more than the leader takes).
    const files = share ? this.files.slice(0, this.maxFiles) : [];
    const [first, ...rest] = chunkFiles(files);
    this.uploaded = new Map([...(first ?? []), ...rest.flat()].map((f) => [f.hash, f]));
    for (const part of rest) peer.send({ t: 'add', files: part });
    peer.ch.onMessage((m) => this.fromLeader(peer, m));
    peer.ch.onClose(() => this.lost(peer));
    this.emit('attached', leader);
  }

  private fromLeader(peer: Peer, m: SuperPeerMessage): void {
    peer.heard(m, this.clock.now());
    switch (m.t) {
      case 'leaders': {
        const now = this.clock.now();
        for (const l of m.leaders) this.known.learn(l, now);
        return;
      }
      case 'hit':
        return this.searches.get(m.id)?.add(m.sources, m.hops);
      case 'promote':
        return void this.promote(m.leaders);
      case 'redirect': {
        // The leader moves us (to a new leader it promoted): go there, else anywhere. A redirect
        // can come in the same read as the welcome, while a re-attach is still running: that loop
        // then sees no leader, takes these and goes on.
        const from = this.current?.leader;
        this.leave();
        this.emit('redirected', from);
        this.redirectedTo = m.leaders;
        return void this.reattach(undefined);
      }
      case 'ping':
        return void peer.send({ t: 'pong' });
      case 'pong':
        return;
      case 'bye':
        return peer.ch.close();
      default:
        peer.ch.fail(new OverlayError('bad-message', `unexpected "${m.t}" from the leader`));
    }
  }

  private lost(peer: Peer): void {
    if (this.current?.peer !== peer) return;
    const leader = this.current.leader;
    this.current = undefined;
    this.uploaded.clear();
    if (this.closed || this.promoted !== undefined) return;
    this.emit('lost-leader', leader);
    void this.reattach(leader);
  }

  /**
   * Try where the last redirect sent us, then the known leaders (`last` at the end), until a
   * leader is current: again every retryMs, or at once when the leader that just welcomed us
   * redirected us before the attempt even returned (welcome and redirect in one read).
   */
  private async reattach(last: Endpoint | undefined): Promise<void> {
    if (this.reattaching) return;
    this.reattaching = true;
    try {
      let quick = 0;
      while (!this.closed && this.promoted === undefined && this.current === undefined) {
        const redirected = this.redirectedTo;
        this.redirectedTo = [];
        const lastKey = last === undefined ? '' : endpointKey(last);
        const others = this.known.attachOrder().filter((e) => endpointKey(e) !== lastKey);
        let welcomed = false;
        try {
          await this.tryLeaders([...redirected, ...others, ...(last === undefined ? [] : [last])]);
          welcomed = true;
        } catch {
          // nobody accepted: wait and try again
        }
        if (this.current !== undefined) return;
        // Welcomed, then redirected at once: follow without waiting (a few times in a row at most).
        if (welcomed && this.redirectedTo.length > 0 && quick++ < MAX_REDIRECTS) continue;
        await waitFor(this.clock, this.retryMs, this.lifetime.signal);
      }
    } finally {
      this.reattaching = false;
    }
  }

  // ---- promotion ----

  private async promote(leaders: readonly Endpoint[]): Promise<void> {
    const at = this.options.capable;
    if (at === undefined || this.promoting || this.promoted !== undefined || this.closed) return;
    this.promoting = true;
    const leader = new SuperPeerLeader({
      ...this.options.leader,
      transport: this.transport,
      clock: this.clock,
      random: this.random,
      files: this.files,
      ...(this.options.filesPort !== undefined && { filesPort: this.options.filesPort }),
    });
    try {
      await leader.listen(at.host, at.port);
      // A leader linked to nobody would be an island: better stay a member.
      if ((await leader.link(leaders)) === 0 && leaders.length > 0) throw new OverlayError('unreachable', 'no leader to link with');
    } catch {
      // Cannot lead here (the port is taken...): stay a member; the leader gives up on us.
      await leader.close();
      this.promoting = false;
      return;
    }
    this.promoting = false;
    if (this.closed) return void (await leader.close());
    this.promoted = leader;
    this.leave('promoted to leader');
    this.emit('promoted', leader.address());
  }
}
