import type { Clock } from '../../net/index.js';
import { OverlayError } from '../common/errors.js';
import type { Query, Source } from '../common/shared.js';
import { chunk, type SuperPeerMessage } from './codec.js';
import type { Peer } from './peer.js';
import { RateBudget } from '../common/rate.js';
import { wireEndpoint } from './util.js';

/*
 * How a leader routes queries and hits (the Gnutella scheme, among leaders
 * only). A query id is handled once: a copy that arrives again over another
 * link is a duplicate and dropped. The first copy is answered from the
 * leader's index, back where it came from, and sent on to every other link
 * with the TTL one lower while it is above 1. Hits travel back along the
 * reverse path: each leader remembers, per query id, where the query came
 * from and which links it was sent to; a hit is taken only from one of
 * those links, and at most maxResults sources per query are relayed, so a
 * flood of hits cannot be amplified or forged sideways.
 *
 * Nobody can push the searches in progress out of that memory: the
 * leader's own searches are kept apart, each connection holds at most a
 * quota of the relayed entries (its own oldest go first), and when the table
 * is full the connection holding the most loses its oldest. Each connection
 * may also send only so many queries a second (a token bucket on the
 * clock): the excess is dropped and counted, and a connection far over the
 * rate is closed.
 */

type Query_ = Extract<SuperPeerMessage, { t: 'query' }>;
type Hit = Extract<SuperPeerMessage, { t: 'hit' }>;

/** Where hits for one query go: back on a connection, or to a search of this leader. */
interface Route {
  readonly deliver: (hops: number, sources: readonly Source[]) => void;
  /** The links the query was sent to: the only ones whose hits are taken. */
  readonly sentTo: ReadonlySet<Peer>;
  relayed: number;
}

export interface RouterOptions {
  readonly clock: Clock;
  readonly seenCapacity: number;
  readonly maxTtl: number;
  readonly maxResults: number;
  readonly maxLinks: number;
  /** Queries a second from a member or searcher (twice as many at once). */
  readonly queryRate: number;
  /** Queries a second from a linked leader, which relays other leaders' members' queries (twice as many at once). */
  readonly linkQueryRate: number;
  readonly links: () => Iterable<Peer>;
  /** Matches in this leader's index; its own files are served at `host`. */
  readonly answer: (query: Query, host: string) => Source[];
}

/** Sources per hit message. */
const HIT_CHUNK = 100;
/** Relayed query ids a member or searcher may hold in the table (a few seconds of queries at its rate). */
const CONNECTION_SEEN = 100;

export class QueryRouter {
  duplicates = 0;
  droppedHits = 0;
  /** Queries dropped over a connection's rate. */
  droppedQueries = 0;
  private readonly seen: SeenTable;
  /** This leader's own searches, which no connection can push out. */
  private readonly own = new Map<string, Route>();
  private readonly limits = new Map<Peer, RateBudget>();
  private readonly connectionQuota: number;
  private readonly linkQuota: number;

  constructor(private readonly options: RouterOptions) {
    this.seen = new SeenTable(options.seenCapacity);
    this.connectionQuota = Math.max(1, Math.min(CONNECTION_SEEN, options.seenCapacity));
    this.linkQuota = Math.max(this.connectionQuota, Math.floor(options.seenCapacity / Math.max(1, options.maxLinks)));
  }

  /** A query from a member or searcher (hops 0 here), or from a linked leader. */
  onQuery(peer: Peer, m: Query_): void {
    if (this.seen.has(m.id) || this.own.has(m.id)) {
      this.duplicates++;
      return;
    }
    const fromLink = peer.role === 'link';
    if (!this.allow(peer, fromLink)) return;
    // hops counts leader links crossed: 0 at the asker's own leader, whatever the asker wrote.
    const hops = fromLink ? Math.min(Math.max(1, m.hops), this.options.maxTtl) : 0;
    const ttl = Math.min(Math.max(1, m.ttl), this.options.maxTtl);
    const sentTo = new Set<Peer>();
    this.seen.add(m.id, peer, fromLink ? this.linkQuota : this.connectionQuota, { deliver: (h, sources) => sendHits(peer, m.id, h, sources), sentTo, relayed: 0 });
    // Our own files are served at the address this connection reaches us at.
    const host = wireEndpoint(peer.ch.local.host, 1)?.host;
    if (host !== undefined) sendHits(peer, m.id, hops, this.options.answer(m.query, host));
    this.flood(m.id, ttl, hops, m.query, fromLink ? peer : undefined, sentTo);
  }

  /** A hit from a linked leader: relayed back where its query came from, if the query was sent to that leader. */
  onHit(peer: Peer, m: Hit): void {
    const route = this.own.get(m.id) ?? this.seen.get(m.id);
    const room = route === undefined || !route.sentTo.has(peer) ? 0 : this.options.maxResults - route.relayed;
    if (route === undefined || room <= 0) {
      this.droppedHits++;
      return;
    }
    const sources = m.sources.slice(0, room);
    route.relayed += sources.length;
    route.deliver(m.hops, sources);
  }

  /** A search of this leader itself: answers go to `deliver` until `forget(id)`. */
  ask(id: string, query: Query, ttl: number, host: string, deliver: (hops: number, sources: readonly Source[]) => void): void {
    const sentTo = new Set<Peer>();
    this.own.set(id, { deliver, sentTo, relayed: 0 });
    deliver(0, this.options.answer(query, host));
    this.flood(id, Math.min(Math.max(1, ttl), this.options.maxTtl), 0, query, undefined, sentTo);
  }

  forget(id: string): void {
    this.own.delete(id);
  }

  /** A connection closed: its rate goes; its entries stay (duplicates of its queries may still come round) but are the first to go. */
  release(peer: Peer): void {
    this.limits.delete(peer);
    this.seen.release(peer);
  }

  /** Whether `peer` may send a query now; closes a connection far over its rate. */
  private allow(peer: Peer, fromLink: boolean): boolean {
    let limit = this.limits.get(peer);
    const now = this.options.clock.now();
    if (limit === undefined) {
      const rate = fromLink ? this.options.linkQueryRate : this.options.queryRate;
      limit = new RateBudget(rate, 2 * rate, now);
      this.limits.set(peer, limit);
    }
    const verdict = limit.take(now);
    if (verdict === 'accept') return true;
    this.droppedQueries++;
    if (verdict === 'cut') {
      peer.send({ t: 'bye', reason: 'too many queries' });
      peer.ch.fail(new OverlayError('bad-message', 'too many queries, far over the rate limit'));
    }
    return false;
  }

  /** Send the query on to every link but `except` while the TTL allows, noting each in `sentTo`. */
  private flood(id: string, ttl: number, hops: number, query: Query, except: Peer | undefined, sentTo: Set<Peer>): void {
    if (ttl <= 1) return;
    for (const l of this.options.links()) {
      if (l === except) continue;
      l.send({ t: 'query', id, ttl: ttl - 1, hops: hops + 1, query });
      sentTo.add(l);
    }
  }
}

function sendHits(peer: Peer, id: string, hops: number, sources: readonly Source[]): void {
  for (const part of chunk(sources, HIT_CHUNK)) peer.send({ t: 'hit', id, hops, sources: part });
}

/**
 * The relayed query ids, at most `capacity`, each owned by the connection it
 * came from. A connection over its quota loses its own oldest id; a full
 * table first drops ids of connections that have closed, then the oldest id
 * of the connection holding the most, so no one connection can push the
 * others' searches out.
 */
class SeenTable {
  private readonly routes = new Map<string, Route>();
  /** Per open connection, its ids, oldest first. */
  private readonly owners = new Map<Peer, Set<string>>();
  /** Ids of closed connections, oldest first. */
  private readonly orphans = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.routes.has(id);
  }

  get(id: string): Route | undefined {
    return this.routes.get(id);
  }

  add(id: string, owner: Peer, quota: number, route: Route): void {
    let mine = this.owners.get(owner);
    if (mine === undefined) this.owners.set(owner, (mine = new Set()));
    while (mine.size >= quota && this.dropOldest(mine)) {
      // its own oldest make room
    }
    this.routes.set(id, route);
    mine.add(id);
    while (this.routes.size > this.capacity && this.dropOne()) {
      // over capacity: the closed connections' ids, then the largest holder's
    }
  }

  release(owner: Peer): void {
    const mine = this.owners.get(owner);
    this.owners.delete(owner);
    for (const id of mine ?? []) this.orphans.add(id);
  }

  private dropOne(): boolean {
    if (this.dropOldest(this.orphans)) return true;
    let largest: Set<string> | undefined;
    for (const ids of this.owners.values()) if (largest === undefined || ids.size > largest.size) largest = ids;
    return largest !== undefined && this.dropOldest(largest);
  }

  private dropOldest(ids: Set<string>): boolean {
    const oldest = ids.values().next();
    if (oldest.done === true) return false;
    ids.delete(oldest.value);
    this.routes.delete(oldest.value);
    return true;
  }
}
