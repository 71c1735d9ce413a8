import type { Query, Source } from '../common/shared.js';
import { chunk, type SuperPeerMessage } from './codec.js';
import type { Peer } from './peer.js';
import { BoundedMap, wireEndpoint } from './util.js';

/*
 * How a leader routes queries and hits (the Gnutella scheme, among leaders
 * only). A query id is handled once: a copy that arrives again over another
 * link is a duplicate and dropped. The first copy is answered from the
 * leader's index, back where it came from, and sent on to every other link
 * with the TTL one lower while it is above 1. Hits travel back along the
 * reverse path: each leader remembers, per query id, where the query came
 * from (a bounded table, so an old id is forgotten and its late hits are
 * dropped), and relays at most maxResults sources per query so a flood of
 * hits cannot be amplified.
 */

type Query_ = Extract<SuperPeerMessage, { t: 'query' }>;
type Hit = Extract<SuperPeerMessage, { t: 'hit' }>;

/** Where hits for one query go: back on a connection, or to a search of this leader. */
interface Route {
  readonly deliver: (hops: number, sources: readonly Source[]) => void;
  relayed: number;
}

export interface RouterOptions {
  readonly seenCapacity: number;
  readonly maxTtl: number;
  readonly maxResults: number;
  readonly links: () => Iterable<Peer>;
  /** Matches in this leader's index; its own files are served at `host`. */
  readonly answer: (query: Query, host: string) => Source[];
}

/** Sources per hit message. */
const HIT_CHUNK = 100;

export class QueryRouter {
  duplicates = 0;
  droppedHits = 0;
  private readonly seen: BoundedMap<string, Route>;

  constructor(private readonly options: RouterOptions) {
    this.seen = new BoundedMap(options.seenCapacity);
  }

  /** A query from a member or searcher (hops 0 here), or from a linked leader. */
  onQuery(peer: Peer, m: Query_): void {
    if (this.seen.has(m.id)) {
      this.duplicates++;
      return;
    }
    const fromLink = peer.role === 'link';
    // hops counts leader links crossed: 0 at the asker's own leader, whatever the asker wrote.
    const hops = fromLink ? Math.min(Math.max(1, m.hops), this.options.maxTtl) : 0;
    const ttl = Math.min(Math.max(1, m.ttl), this.options.maxTtl);
    this.seen.set(m.id, { deliver: (h, sources) => sendHits(peer, m.id, h, sources), relayed: 0 });
    // Our own files are served at the address this connection reaches us at.
    const host = wireEndpoint(peer.ch.local.host, 1)?.host;
    if (host !== undefined) sendHits(peer, m.id, hops, this.options.answer(m.query, host));
    this.flood(m.id, ttl, hops, m.query, fromLink ? peer : undefined);
  }

  /** A hit from a linked leader: relayed back where its query came from. */
  onHit(m: Hit): void {
    const route = this.seen.get(m.id);
    const room = route === undefined ? 0 : this.options.maxResults - route.relayed;
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
    this.seen.set(id, { deliver, relayed: 0 });
    deliver(0, this.options.answer(query, host));
    this.flood(id, Math.min(Math.max(1, ttl), this.options.maxTtl), 0, query, undefined);
  }

  forget(id: string): void {
    this.seen.delete(id);
  }

  private flood(id: string, ttl: number, hops: number, query: Query, except: Peer | undefined): void {
    if (ttl <= 1) return;
    for (const l of this.options.links()) if (l !== except) l.send({ t: 'query', id, ttl: ttl - 1, hops: hops + 1, query });
  }
}

function sendHits(peer: Peer, id: string, hops: number, sources: readonly Source[]): void {
  for (const part of chunk(sources, HIT_CHUNK)) peer.send({ t: 'hit', id, hops, sources: part });
}
