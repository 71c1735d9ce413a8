import type { Clock, Random, StreamTransport } from '../../net/index.js';
import type { SharedFile, Source } from '../common/shared.js';
import type { MessageCounts } from './link.js';

/*
 * The options, results and statistics of a FloodNode (node.ts), apart from
 * the node so that it stays readable. The statistics names are a contract:
 * the benchmark of all overlays reads messagesIn and messagesOut.
 */

export interface FloodNodeOptions {
  readonly transport?: StreamTransport;
  readonly clock?: Clock;
  readonly random?: Random;
  /** What this node answers searches with (needs filesPort). */
  readonly files?: readonly SharedFile[];
  /** The port of the HTTP server for `files`; hits name it with the address the asking neighbour reached us on. */
  readonly filesPort?: number;
  /** Neighbours the node looks for. @default 4 */
  readonly targetNeighbours?: number;
  /** Links accepted before newcomers are turned away with addresses to try. @default 8 */
  readonly maxNeighbours?: number;
  /**
   * Of maxNeighbours, slots that only links this node dials can take: links
   * other nodes open are accepted up to maxNeighbours - outgoingSlots, so
   * strangers cannot take them all, and a node whose links were all opened by
   * others dials one of its own choosing. @default min(2, maxNeighbours - targetNeighbours)
   */
  readonly outgoingSlots?: number;
  /** Largest TTL relayed (larger ones are lowered) or searched with. @default 7 */
  readonly maxTtl?: number;
  /** How often lost neighbours are replaced (and nodes pinged for addresses when short), in ms. @default 5000 */
  readonly maintainMs?: number;
  /** Addresses remembered. @default 1000 */
  readonly knownCapacity?: number;
  /** Other nodes' query ids remembered; each neighbour may hold seenCapacity / maxNeighbours of them (router.ts). @default 10_000 */
  readonly seenCapacity?: number;
  /** How long a query id is remembered, in ms. @default 600_000 */
  readonly seenExpiryMs?: number;
  /** Connecting and the hello exchange each give up after this long, in ms. @default 5000 */
  readonly connectTimeoutMs?: number;
  /**
   * A neighbour silent this long is pinged; one silent for 2.5 times this is
   * dropped (and replaced), in ms. @default the larger of 30_000 and 2 x maintainMs
   */
  readonly pingMs?: number;
  /** New queries (not duplicates) accepted from one neighbour per second, on average; more are dropped. @default 20 */
  readonly queryRate?: number;
  /** New queries one neighbour may send at once, above queryRate. A neighbour whose dropped queries pile up past 4 x this (well over twice the rate) is disconnected. @default 40 */
  readonly queryBurst?: number;
  /** Our own searches remembered (kept apart from other nodes' queries, which cannot push them out). @default 1000 */
  readonly ownSearches?: number;
  /** Told about neighbours dropped for breaking the protocol. */
  readonly log?: (message: string) => void;
}

export interface FloodHit {
  readonly source: Source;
  /** The hop count of the query copy the responder answered (1: a neighbour of the origin). */
  readonly hops: number;
}

export interface FloodSearchOptions {
  readonly ttl: number;
  /** How long to collect hits, in ms on the node's clock. */
  readonly waitMs: number;
  readonly onHit?: (source: Source, hops: number) => void;
  /** Ends the search early (with the hits so far). */
  readonly signal?: AbortSignal;
}

export interface FloodJoinOptions {
  /** Stops joining: join rejects with the signal's reason (dials under way may still end as neighbours). */
  readonly signal?: AbortSignal;
}

/** Sources one search keeps (each once, by file hash and address); more are dropped and counted. */
export const MAX_SEARCH_SOURCES = 1000;

export interface FloodStats {
  /** Overlay messages received and sent on all links since the start (closed ones included). */
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly sent: MessageCounts;
  readonly received: MessageCounts;
  /** Queries dropped because their id was seen before. */
  readonly duplicates: number;
  /** Hits dropped: unknown or forgotten id, wrong neighbour, search over, or the way back closed; and sources beyond the MAX_SEARCH_SOURCES one search keeps. */
  readonly dropped: number;
  /** New queries dropped because their neighbour sent them faster than queryRate allows. */
  readonly rateLimited: number;
  /** Addresses refused: pongs that answered no ping of ours, and byes carrying addresses before hello on links the other side opened. */
  readonly unsolicited: number;
  /** Neighbours dropped for saying nothing for 2.5 x pingMs. */
  readonly silent: number;
  /** Current neighbours (leaves included). */
  readonly neighbours: number;
  /** Other nodes' queries handled (each id once). */
  readonly queries: number;
  /** Queries answered with a hit. */
  readonly answered: number;
  /** Links dropped for breaking the protocol. */
  readonly badPeers: number;
}

/** The options with their defaults, checked. */
export interface Settings {
  readonly target: number;
  readonly max: number;
  readonly outgoingSlots: number;
  readonly maxTtl: number;
  readonly maintainMs: number;
  readonly knownCapacity: number;
  readonly seenCapacity: number;
  readonly seenExpiryMs: number;
  readonly connectTimeoutMs: number;
  readonly pingMs: number;
  readonly queryRate: number;
  readonly queryBurst: number;
  readonly ownSearches: number;
  readonly filesPort: number | undefined;
  readonly log: (message: string) => void;
}

export function settings(o: FloodNodeOptions): Settings {
  const target = o.targetNeighbours ?? 4;
  const max = o.maxNeighbours ?? 8;
  const maintainMs = o.maintainMs ?? 5_000;
  const s: Settings = {
    target,
    max,
    outgoingSlots: o.outgoingSlots ?? Math.max(0, Math.min(2, max - target)),
    maxTtl: o.maxTtl ?? 7,
    maintainMs,
    knownCapacity: o.knownCapacity ?? 1000,
    seenCapacity: o.seenCapacity ?? 10_000,
    seenExpiryMs: o.seenExpiryMs ?? 600_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 5_000,
    // Maintenance turned down (a benchmark holding its graph still) turns the keep-alive down with it.
    pingMs: o.pingMs ?? Math.max(30_000, 2 * maintainMs),
    queryRate: o.queryRate ?? 20,
    queryBurst: o.queryBurst ?? 40,
    ownSearches: o.ownSearches ?? 1000,
    filesPort: o.filesPort,
    log: o.log ?? (() => undefined),
  };
  if (!Number.isInteger(s.target) || s.target < 1) throw new RangeError(`targetNeighbours ${s.target} is not a positive integer`);
  if (!Number.isInteger(s.max) || s.max < s.target) throw new RangeError(`maxNeighbours ${s.max} is below targetNeighbours ${s.target}`);
  if (!Number.isInteger(s.outgoingSlots) || s.outgoingSlots < 0 || s.outgoingSlots >= s.max) throw new RangeError(`outgoingSlots ${s.outgoingSlots} is not an integer from 0 to maxNeighbours - 1`);
  if (!(s.maintainMs > 0) || !(s.connectTimeoutMs > 0) || !(s.pingMs > 0)) throw new RangeError('maintainMs, connectTimeoutMs and pingMs must be positive');
  if (!(s.queryRate > 0) || !(s.queryBurst >= 1)) throw new RangeError(`queryRate ${s.queryRate} must be positive and queryBurst ${s.queryBurst} at least 1`);
  if (!Number.isInteger(s.ownSearches) || s.ownSearches < 1) throw new RangeError(`ownSearches ${s.ownSearches} is not a positive integer`);
  if (!Number.isInteger(s.knownCapacity) || s.knownCapacity < 1) throw new RangeError(`knownCapacity ${s.knownCapacity} is not a positive integer`);
  if (s.filesPort !== undefined && (!Number.isInteger(s.filesPort) || s.filesPort < 1 || s.filesPort > 65535)) throw new RangeError(`filesPort ${s.filesPort} is not a port`);
  return s;
}
