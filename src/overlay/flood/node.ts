import { realClock, systemRandom, tcpTransport, type Clock, type Endpoint, type Random, type StreamConnection, type StreamListener, type StreamTransport, type Timer } from '../../net/index.js';
import { Channel } from '../common/channel.js';
import { OverlayError } from '../common/errors.js';
import { formatEndpoint, parseQuery, queryText, sourceKey, type Query, type SharedFile, type Source } from '../common/shared.js';
import { answer, shareable } from './answers.js';
import { FLOOD_MAX_FRAME, floodCodec, ID_BYTES, MAX_ADDRESSES, type FloodMessage } from './codec.js';
import { addressKey, AddressBook, ipv4Of, pick, randomBytes } from './known.js';
import { describe, duplicateToDrop, isNeighbour, newLink, pingAll, total, zeroCounts, type Link } from './link.js';
import { RateBudget } from '../common/rate.js';
import { QueryRouter } from './router.js';
import { MAX_SEARCH_SOURCES, settings, type FloodHit, type FloodJoinOptions, type FloodNodeOptions, type FloodSearchOptions, type FloodStats, type Settings } from './types.js';

/** A neighbour whose dropped queries pile past this many bursts keeps sending well over twice the rate: it is disconnected. */
export const CUT_FACTOR = 4;

/*
 * A node of the flooding overlay (docs/flood.md), Gnutella style: it keeps
 * a few neighbours over TCP, floods each search to them with a TTL, relays
 * other nodes' searches by the rule in router.ts, and sends hits back along
 * the path the query came. Neighbours are found through any known node and
 * replaced when they leave: a maintenance tick dials addresses it has heard
 * of, and pings its neighbours for more when it runs short. A neighbour
 * that goes silent is pinged, then dropped; one that sends new queries
 * faster than its budget allows has the excess dropped, then is dropped.
 */

interface ActiveSearch {
  deliver(source: Source, hops: number): void;
  finish(): void;
}

/** Addresses join dials beyond the contacts, at most (full nodes turn newcomers away with others to try). */
const JOIN_DIALS = 32;

export class FloodNode {
  /** This node's id, 32 hex digits. */
  readonly id: string;
  private readonly nodeId: Uint8Array;
  private readonly transport: StreamTransport;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly router: QueryRouter;
  private readonly known: AddressBook;
  private readonly cfg: Settings;
  private files: readonly SharedFile[] = [];
  private readonly links = new Map<string, Link>();
  private readonly dialing = new Set<string>();
  private readonly searches = new Map<string, ActiveSearch>();
  private readonly abort = new AbortController();
  private listener: StreamListener | undefined;
  private listenPort = 0;
  private tickTimer: Timer | undefined;
  private pingTimer: Timer | undefined;
  private nextKey = 0;
  private closed = false;
  /** Our dials turned away by full nodes. */
  private refused = 0;
  private readonly counts = { sent: zeroCounts(), received: zeroCounts(), duplicates: 0, dropped: 0, rateLimited: 0, unsolicited: 0, silent: 0, queries: 0, answered: 0, badPeers: 0 };

  constructor(options: FloodNodeOptions = {}) {
    this.transport = options.transport ?? tcpTransport;
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? systemRandom();
    this.cfg = settings(options);
    // Each neighbour gets an equal share of the table of ids, so one that floods fresh ids only pushes out its own.
    this.router = new QueryRouter({ capacity: this.cfg.seenCapacity, neighbourQuota: Math.max(1, Math.floor(this.cfg.seenCapacity / this.cfg.max)), ownCapacity: this.cfg.ownSearches, expiryMs: this.cfg.seenExpiryMs, maxTtl: this.cfg.maxTtl });
    // A failed address is tried again after a few ticks: often enough to find room that opened up, seldom enough not to hammer.
    this.known = new AddressBook(this.cfg.knownCapacity, this.random, 6 * this.cfg.maintainMs);
    this.nodeId = randomBytes(this.random, ID_BYTES);
    this.id = Buffer.from(this.nodeId).toString('hex');
    this.setFiles(options.files ?? []);
    this.tickTimer = this.clock.setTimer(this.cfg.maintainMs, () => this.tick());
    this.pingTimer = this.clock.setTimer(this.cfg.pingMs, () => this.keepAlive());
  }

  get maxTtl(): number {
    return this.router.maxTtl;
  }

  /** Accept neighbours on host:port (0: any free port). Returns the address bound. */
  async listen(host: string, port: number): Promise<Endpoint> {
    if (this.closed) throw new OverlayError('closed', 'the node is closed');
    if (this.listener !== undefined) throw new Error(`already listening on ${formatEndpoint(this.listener.local)}`);
    const listener = await this.transport.listen(host, port, (conn) => this.accept(conn));
    if (this.closed) {
      listener.close();
      throw new OverlayError('closed', 'the node was closed while it started listening');
    }
    this.listener = listener;
    this.listenPort = listener.local.port;
    this.known.markSelf({ host: ipv4Of(listener.local.host) ?? listener.local.host, port: listener.local.port });
    return listener.local;
  }

  /**
   * Connect to the contacts, then ask the neighbours for more addresses and
   * dial them until targetNeighbours. Resolves with the neighbour count;
   * rejects with OverlayError('unreachable') when there is none, and with
   * the signal's reason as soon as `options.signal` aborts. Listen first, or
   * the neighbours take this node for a leaf they cannot dial.
   */
  async join(contacts: readonly Endpoint[], options: FloodJoinOptions = {}): Promise<number> {
    if (this.closed) throw new OverlayError('closed', 'the node is closed');
    const { signal } = options;
    signal?.throwIfAborted();
    for (const c of contacts) {
      this.known.add(c);
      this.known.clearFailed(c);
    }
    const refusedBefore = this.refused;
    const aborted = whenAborted(signal);
    // Each wait ends at once when the signal aborts (the dials under way go on, and may still become neighbours).
    const wait = <T>(p: Promise<T>): Promise<T> => (aborted === undefined ? p : Promise.race([p, aborted.promise]));
    try {
      const first = contacts.filter((c) => !this.isLinked(c)).slice(0, Math.max(0, this.cfg.max - this.links.size));
      await wait(Promise.all(first.map((c) => this.connect(c))));
      let dials = 0;
      while (!this.closed && dials < JOIN_DIALS && this.links.size + this.dialing.size < this.cfg.target) {
        await wait(pingAll(this.neighbourLinks(), (l) => this.ping(l), this.clock, this.cfg.connectTimeoutMs));
        // With no neighbour yet, dial more at a time: the addresses a full node gave may be full too.
        const want = this.cfg.target - this.links.size - this.dialing.size;
        const more = this.known.sample(this.links.size === 0 ? Math.max(want, 4) : want, (e) => this.isLinked(e), this.clock.now());
        if (more.length === 0) break;
        dials += more.length;
        await wait(Promise.all(more.map((c) => this.connect(c))));
      }
    } finally {
      aborted?.dispose();
    }
    const n = this.neighbourLinks().length;
    if (n > 0) return n;
    if (this.closed) throw new OverlayError('closed', 'the node was closed while joining');
    if (contacts.length === 0) throw new OverlayError('unreachable', 'no contacts to join through');
    const full = this.refused - refusedBefore;
    throw new OverlayError('unreachable', full > 0 ? `no room: ${full} node(s) reached through ${contacts.map(formatEndpoint).join(', ')} are full` : `none of ${contacts.map(formatEndpoint).join(', ')} answered`);
  }

  /** Flood a search and collect hits for waitMs (or until the signal aborts). */
  search(query: Query, options: FloodSearchOptions): Promise<{ id: Uint8Array; hits: FloodHit[] }> {
    const { ttl, waitMs, signal } = options;
    if (this.closed) return Promise.reject(new OverlayError('closed', 'the node is closed'));
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > this.maxTtl) return Promise.reject(new RangeError(`ttl ${ttl} is not from 1 to ${this.maxTtl} (the largest this node floods)`));
    if (!(waitMs >= 0)) return Promise.reject(new RangeError(`waitMs ${waitMs} is not a duration`));
    let q: Query;
    try {
      q = parseQuery(queryText(query)); // what the other nodes will read: a query they would reject is refused here
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const id = randomBytes(this.random, ID_BYTES);
    const hits: FloodHit[] = [];
    if (signal?.aborted === true) return Promise.resolve({ id, hits });
    const neighbours = this.neighbourLinks();
    if (neighbours.length === 0) return Promise.reject(new OverlayError('unreachable', 'no neighbours to send the search to (join first)'));
    const hex = Buffer.from(id).toString('hex');
    return new Promise((resolve) => {
      const finish = (): void => {
        timer.cancel();
        signal?.removeEventListener('abort', finish);
        this.searches.delete(hex);
        resolve({ id, hits });
      };
      // Each source once (it may come by several paths), and no more than MAX_SEARCH_SOURCES: the rest are dropped.
      const kept = new Set<string>();
      const deliver = (source: Source, hops: number): void => {
        const key = sourceKey(source);
        if (kept.has(key)) return;
        if (kept.size >= MAX_SEARCH_SOURCES) return void this.counts.dropped++;
        kept.add(key);
        hits.push({ source, hops });
        try {
          options.onHit?.(source, hops);
        } catch (e) {
          this.cfg.log(`the onHit callback threw: ${e instanceof Error ? e.message : String(e)}`);
        }
      };
      this.searches.set(hex, { deliver, finish });
      const timer = this.clock.setTimer(waitMs, finish);
      signal?.addEventListener('abort', finish, { once: true });
      const keys = this.router.startSearch(id, neighbours.map((l) => l.key), this.clock.now());
      for (const key of keys) this.send(this.links.get(key), { t: 'query', id, ttl, hops: 1, query: q });
    });
  }

  /** Replace the files this node answers with. */
  setFiles(files: readonly SharedFile[]): void {
    if (files.length > 0 && this.cfg.filesPort === undefined) throw new RangeError('files to share need a filesPort (where they are served)');
    this.files = shareable(files);
  }

  /** Where the neighbours accept connections (leaves, which accept none, are not listed). */
  neighbours(): Endpoint[] {
    const out = new Map<string, Endpoint>();
    for (const l of this.neighbourLinks()) if (l.listen !== undefined) out.set(addressKey(l.listen), l.listen);
    return [...out.values()];
  }

  stats(): FloodStats {
    const { sent, received, duplicates, dropped, rateLimited, unsolicited, silent, queries, answered, badPeers } = this.counts;
    return { messagesIn: total(received), messagesOut: total(sent), sent: { ...sent }, received: { ...received }, duplicates, dropped, rateLimited, unsolicited, silent, neighbours: this.neighbourLinks().length, queries, answered, badPeers };
  }

  /** Say bye to every neighbour (with addresses of the others, to replace us), close all links and stop listening. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tickTimer?.cancel();
    this.pingTimer?.cancel();
    this.abort.abort();
    this.listener?.close();
    for (const s of [...this.searches.values()]) s.finish();
    const others = this.neighbours();
    for (const l of [...this.links.values()]) {
      // A link still waiting for hello may lead to a hung node that reads nothing: closing must not wait for it.
      if (l.peerId === undefined) {
        l.channel.fail(new OverlayError('closed', 'closing'));
        continue;
      }
      this.send(l, { t: 'bye', addresses: others.filter((e) => l.listen === undefined || addressKey(e) !== addressKey(l.listen)).slice(0, MAX_ADDRESSES), reason: 'leaving' });
      l.channel.close();
    }
    const links = [...this.links.values()];
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(this.cfg.connectTimeoutMs, () => {
        for (const l of links) l.channel.fail(new OverlayError('closed', 'closing'));
        resolve();
      });
      void Promise.all(links.map((l) => l.closed)).then(() => {
        timer.cancel();
        resolve();
      });
    });
  }

  // --- links ---

  private accept(conn: StreamConnection): void {
    if (this.closed) return conn.destroy();
    const channel = new Channel(conn, floodCodec, { maxFrame: FLOOD_MAX_FRAME });
    // The last outgoingSlots are kept for links we dial: strangers that connect cannot take every slot.
    const incoming = [...this.links.values()].filter((l) => !l.outgoing).length;
    if (this.links.size < this.cfg.max && incoming < this.cfg.max - this.cfg.outgoingSlots) return void this.attach(channel, false, undefined);
    // Full: turn the newcomer away with addresses to try instead (Gnutella 0.6's X-Try).
    channel.onMessage((m) => this.counts.received[m.t]++);
    const timer = this.clock.setTimer(this.cfg.connectTimeoutMs, () => channel.fail(new OverlayError('timeout', 'refused peer did not close')));
    channel.onClose(() => timer.cancel());
    // Our neighbours are likely full too (they joined early, like us): most of the list comes from the wider address book.
    const mine = pick(this.neighbours(), 3, this.random);
    const taken = new Set(mine.map(addressKey));
    const addresses = [...mine, ...this.known.sample(10 - mine.length, (e) => taken.has(addressKey(e)), this.clock.now())];
    if (channel.send({ t: 'bye', addresses, reason: 'full' })) this.counts.sent.bye++;
    channel.close();
  }

  private attach(channel: Channel<FloodMessage>, outgoing: boolean, dialed: Endpoint | undefined): Link {
    const now = this.clock.now();
    const link = newLink(`n${++this.nextKey}`, channel, outgoing, dialed, new RateBudget(this.cfg.queryRate, this.cfg.queryBurst, now, CUT_FACTOR * this.cfg.queryBurst), now);
    this.links.set(link.key, link);
    channel.onMessage((m) => this.receive(link, m));
    channel.onClose((e) => this.lost(link, e));
    link.handshakeTimer = this.clock.setTimer(this.cfg.connectTimeoutMs, () => channel.fail(new OverlayError('timeout', `${describe(link)} sent no hello in ${this.cfg.connectTimeoutMs} ms`)));
    this.send(link, { t: 'hello', port: this.listenPort, id: this.nodeId });
    return link;
  }

  private async connect(to: Endpoint): Promise<boolean> {
    if (this.closed || this.isLinked(to)) return false;
    const key = addressKey(to);
    this.dialing.add(key);
    let conn: StreamConnection;
    try {
      conn = await this.transport.connect(to, { timeoutMs: this.cfg.connectTimeoutMs, signal: this.abort.signal });
    } catch {
      this.known.markFailed(to, this.clock.now());
      return false;
    } finally {
      this.dialing.delete(key);
    }
    if (this.closed) {
      conn.destroy();
      return false;
    }
    const link = this.attach(new Channel(conn, floodCodec, { maxFrame: FLOOD_MAX_FRAME }), true, to);
    const ok = await link.ready;
    if (!ok && !link.duplicate && !link.self) this.known.markFailed(to, this.clock.now());
    return ok;
  }

  private onHello(link: Link, m: Extract<FloodMessage, { t: 'hello' }>): void {
    const peer = Buffer.from(m.id).toString('hex');
    link.handshakeTimer?.cancel();
    if (peer === this.id) {
      // We dialed ourselves (both ends of the connection are here): never again.
      link.self = true;
      if (link.dialed !== undefined) this.known.markSelf(link.dialed);
      return link.channel.close();
    }
    const host = ipv4Of(link.channel.remote.host);
    const port = link.dialed?.port ?? m.port;
    link.listen = host !== undefined && port > 0 ? { host, port } : undefined;
    link.peerId = peer;
    const other = [...this.links.values()].find((l) => l !== link && l.peerId === peer && isNeighbour(l));
    const drop = other === undefined ? undefined : duplicateToDrop(this.id, peer, link, other);
    if (drop !== undefined) {
      drop.duplicate = true;
      this.send(drop, { t: 'bye', addresses: [], reason: 'duplicate link' });
      drop.channel.close();
      if (drop === link) return link.settle(false);
    }
    if (link.listen !== undefined) this.known.add(link.listen);
    link.settle(true);
  }

  private lost(link: Link, error?: Error): void {
    this.links.delete(link.key);
    link.handshakeTimer?.cancel();
    link.settle(false);
    for (const w of link.pongWaiters.splice(0)) w();
    link.markClosed();
    if (error instanceof OverlayError && error.code !== 'timeout' && !this.closed) {
      this.counts.badPeers++;
      this.cfg.log(`dropped ${describe(link)}: ${error.message}`);
    }
    // Replace a lost neighbour at once, then on every tick until there are enough.
    if (!this.closed && link.peerId !== undefined && !link.duplicate && !link.self) this.refill();
  }

  private tick(): void {
    if (this.closed) return;
    this.refill();
    this.tickTimer = this.clock.setTimer(this.cfg.maintainMs, () => this.tick());
  }

  /**
   * Dial known addresses up to targetNeighbours; ping the neighbours for more when there are too few.
   * A node whose links were all opened by others (when it keeps outgoingSlots) dials one of its own choosing.
   */
  private refill(): void {
    const need = this.cfg.target - this.links.size - this.dialing.size;
    if (need <= 0) {
      const chosen = this.dialing.size > 0 || [...this.links.values()].some((l) => l.outgoing);
      if (this.cfg.outgoingSlots === 0 || chosen || this.links.size >= this.cfg.max) return;
      for (const c of this.known.sample(1, (e) => this.isLinked(e), this.clock.now())) this.dial(c);
      return;
    }
    const candidates = this.known.sample(need, (e) => this.isLinked(e), this.clock.now());
    for (const c of candidates) this.dial(c);
    if (candidates.length < need) for (const l of this.neighbourLinks()) this.ping(l);
  }

  private dial(c: Endpoint): void {
    this.connect(c).catch((e: unknown) => this.cfg.log(`dialing ${formatEndpoint(c)} failed: ${String(e)}`));
  }

  /** Every pingMs: ping the neighbours silent for pingMs, drop those silent for 2.5 times that (lost() then replaces them). */
  private keepAlive(): void {
    if (this.closed) return;
    const now = this.clock.now();
    for (const l of this.neighbourLinks()) {
      const silent = now - l.lastHeard;
      if (silent > 2.5 * this.cfg.pingMs) {
        this.counts.silent++;
        this.cfg.log(`dropped ${describe(l)}: it said nothing for ${Math.round(silent)} ms`);
        l.channel.fail(new OverlayError('timeout', `${describe(l)} said nothing for ${Math.round(silent)} ms`));
      } else if (silent >= this.cfg.pingMs) this.ping(l);
    }
    this.pingTimer = this.clock.setTimer(this.cfg.pingMs, () => this.keepAlive());
  }

  private isLinked(e: Endpoint): boolean {
    const key = addressKey(e);
    if (this.dialing.has(key) || this.known.isSelf(e)) return true;
    for (const l of this.links.values()) if ((l.dialed !== undefined && addressKey(l.dialed) === key) || (l.listen !== undefined && addressKey(l.listen) === key)) return true;
    return false;
  }

  private neighbourLinks(): Link[] {
    return [...this.links.values()].filter(isNeighbour);
  }

  // --- messages ---

  private send(link: Link | undefined, m: FloodMessage): boolean {
    if (link === undefined || !link.channel.send(m)) return false;
    this.counts.sent[m.t]++;
    return true;
  }

  /** Ask a neighbour for addresses (or whether it is still there): its pong is welcome, one per ping. */
  private ping(link: Link): void {
    if (this.send(link, { t: 'ping' })) link.pingsOut++;
  }

  private receive(link: Link, m: FloodMessage): void {
    this.counts.received[m.t]++;
    link.lastHeard = this.clock.now();
    try {
      this.handle(link, m);
    } catch (e) {
      // A bug of ours, not the peer's: drop that link rather than let the exception reach the socket's event handler.
      this.cfg.log(`internal error on the link with ${describe(link)}: ${e instanceof Error ? e.message : String(e)}`);
      link.channel.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private handle(link: Link, m: FloodMessage): void {
    if (link.peerId === undefined) {
      if (m.t === 'hello') return this.onHello(link, m);
      if (m.t === 'bye') {
        // A node we dialed that is full names others to try; a stranger that connected to us cannot fill our address book that way.
        if (link.outgoing) {
          this.refused++;
          return this.onBye(link, m.addresses);
        }
        if (m.addresses.length > 0) this.counts.unsolicited++;
        return link.channel.close();
      }
      return link.channel.fail(new OverlayError('bad-message', `${describe(link)} sent ${m.t} before hello`));
    }
    switch (m.t) {
      case 'hello':
        return link.channel.fail(new OverlayError('bad-message', `${describe(link)} sent a second hello`));
      case 'ping':
        return void this.send(link, { t: 'pong', addresses: this.known.forPong(this.neighbours(), link.listen, MAX_ADDRESSES, this.clock.now()) });
      case 'pong':
        // Only in answer to a ping of ours, one per ping: otherwise any neighbour could steer whom we dial.
        if (link.pingsOut === 0) return void this.counts.unsolicited++;
        link.pingsOut--;
        for (const e of m.addresses) this.known.add(e);
        for (const w of link.pongWaiters.splice(0)) w();
        return;
      case 'query':
        return this.onQuery(link, m);
      case 'hit':
        return this.onHit(link, m);
      case 'bye':
        return this.onBye(link, m.addresses);
    }
  }

  private onBye(link: Link, addresses: readonly Endpoint[]): void {
    for (const e of addresses) this.known.add(e);
    // A node that leaves, or is full, is not worth dialing again soon (a duplicate link's end says nothing about it).
    const address = link.listen ?? link.dialed;
    if (address !== undefined && !link.duplicate) this.known.markFailed(address, this.clock.now());
    link.channel.close();
  }

  private onQuery(link: Link, m: Extract<FloodMessage, { t: 'query' }>): void {
    const now = this.clock.now();
    // New queries spend the neighbour's budget (duplicates cost nothing to drop); one far over it is disconnected.
    if (!this.router.has(m.id, now)) {
      const verdict = link.budget.take(now);
      if (verdict === 'cut') {
        this.counts.rateLimited++;
        return link.channel.fail(new OverlayError('bad-message', `${describe(link)} sent queries far over ${this.cfg.queryRate} a second`));
      }
      if (verdict === 'drop') return void this.counts.rateLimited++;
    }
    const decision = this.router.onQuery(m.id, link.key, m.ttl, m.hops, this.neighbourLinks().map((l) => l.key), now);
    if (decision.kind === 'duplicate') return void this.counts.duplicates++;
    this.counts.queries++;
    const host = ipv4Of(link.channel.local.host);
    if (this.cfg.filesPort !== undefined && host !== undefined) {
      const sources = answer(this.files, m.query, { host, port: this.cfg.filesPort });
      if (sources.length > 0 && this.send(link, { t: 'hit', id: m.id, hops: m.hops, sources })) this.counts.answered++;
    }
    for (const key of decision.forwardTo) this.send(this.links.get(key), { t: 'query', id: m.id, ttl: decision.ttl, hops: decision.hops, query: m.query });
  }

  private onHit(link: Link, m: Extract<FloodMessage, { t: 'hit' }>): void {
    const decision = this.router.onHit(m.id, link.key, this.clock.now());
    if (decision.kind === 'drop') return void this.counts.dropped++;
    if (decision.kind === 'forward') {
      if (!this.send(this.links.get(decision.to), m)) this.counts.dropped++;
      return;
    }
    const search = this.searches.get(Buffer.from(m.id).toString('hex'));
    if (search === undefined) return void this.counts.dropped++;
    for (const s of m.sources) search.deliver(s, m.hops);
  }
}

/** A promise that rejects with the signal's reason when it aborts (none without a signal); dispose when done waiting. */
function whenAborted(signal: AbortSignal | undefined): { promise: Promise<never>; dispose(): void } | undefined {
  if (signal === undefined) return undefined;
  let onAbort: () => void = () => undefined;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => undefined); // rejected with nobody racing it: not an unhandled rejection
  return { promise, dispose: () => signal.removeEventListener('abort', onAbort) };
}
