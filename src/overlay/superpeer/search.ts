import { realClock, systemRandom, tcpTransport, type Clock, type Endpoint, type Random, type StreamTransport } from '../../net/index.js';
import { Channel } from '../common/channel.js';
import { OverlayError } from '../common/errors.js';
import { formatEndpoint, sourceKey, type Query, type Source } from '../common/shared.js';
import { ID_BYTES, superPeerCodec } from './codec.js';
import { MessageCounts, Peer, waitFor } from './peer.js';
import { randomHex } from './util.js';

/*
 * The asking side of a search: collecting the hits of one query (each
 * source once, however many paths bring it), and a one-shot searcher that
 * connects to a leader without joining, sends one query and listens for
 * the answers (what `peerkit superpeer search` does: a searcher shares
 * nothing, so it has no reason to attach).
 */

export interface SearchOptions {
  /** Leaders the query may reach: 1 is the asker's leader only, 2 also its linked leaders, ... */
  readonly ttl: number;
  /** How long to wait for answers, in ms. */
  readonly waitMs: number;
  /** Each new source as it arrives. */
  readonly onHit?: (source: Source, hops: number) => void;
  readonly signal?: AbortSignal;
}

export interface SearchHit {
  readonly source: Source;
  /** Leader-to-leader links between the asker's leader and the leader that answered. */
  readonly hops: number;
}

export interface SearchResult {
  readonly hits: SearchHit[];
}

/** Most sources one search keeps. */
const MAX_HITS = 1000;

/** The hits of one query, each (hash, address) once. */
export class HitCollector {
  readonly hits: SearchHit[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly onHit?: (source: Source, hops: number) => void) {}

  add(sources: readonly Source[], hops: number): void {
    for (const source of sources) {
      const k = sourceKey(source);
      if (this.seen.has(k) || this.hits.length >= MAX_HITS) continue;
      this.seen.add(k);
      this.hits.push({ source, hops });
      this.onHit?.(source, hops);
    }
  }
}

/** A query's TTL as sent: a whole number from 1 to 255. */
export function wireTtl(ttl: number): number {
  if (!Number.isFinite(ttl)) return 255;
  return Math.min(255, Math.max(1, Math.floor(ttl)));
}

export interface SearchClientOptions extends SearchOptions {
  readonly transport?: StreamTransport;
  readonly clock?: Clock;
  readonly random?: Random;
  /** @default 5000 */
  readonly connectTimeoutMs?: number;
}

/**
 * Ask the first of `leaders` that accepts a connection, without joining.
 * Resolves after waitMs (or on abort, or when the leader closes) with what
 * arrived and the leader asked (undefined when aborted before one was
 * reached); rejects OverlayError('unreachable') when no leader could be reached.
 */
export async function searchLeaders(leaders: readonly Endpoint[], query: Query, options: SearchClientOptions): Promise<SearchResult & { readonly leader: Endpoint | undefined }> {
  const transport = options.transport ?? tcpTransport;
  const clock = options.clock ?? realClock;
  const random = options.random ?? systemRandom();
  const errors: string[] = [];
  const aborted = (): boolean => options.signal?.aborted === true;
  for (const leader of leaders) {
    if (aborted()) return { hits: [], leader: undefined };
    let conn;
    try {
      conn = await transport.connect(leader, { timeoutMs: options.connectTimeoutMs ?? 5_000, ...(options.signal !== undefined && { signal: options.signal }) });
    } catch (e) {
      if (aborted()) return { hits: [], leader: undefined };
      errors.push(`${formatEndpoint(leader)}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    if (aborted()) {
      // Interrupted just as the connection came up: do not ask after all.
      conn.destroy();
      return { hits: [], leader: undefined };
    }
    const peer = new Peer(new Channel(conn, superPeerCodec), new MessageCounts(), 'dialing', clock.now());
    const id = randomHex(random, ID_BYTES);
    const collector = new HitCollector(options.onHit);
    const gone = new AbortController();
    peer.ch.onMessage((m) => {
      if (m.t === 'hit' && m.id === id) collector.add(m.sources, m.hops);
      else if (m.t === 'ping') peer.send({ t: 'pong' });
      else if (m.t === 'bye') peer.ch.close();
    });
    peer.ch.onClose(() => gone.abort());
    peer.send({ t: 'query', id, ttl: wireTtl(options.ttl), hops: 0, query });
    const stop = options.signal === undefined ? gone.signal : AbortSignal.any([gone.signal, options.signal]);
    await waitFor(clock, options.waitMs, stop);
    peer.close();
    return { hits: collector.hits, leader };
  }
  throw new OverlayError('unreachable', `no leader could be reached (${errors.join('; ') || 'none given'})`);
}
