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
  /** Largest TTL relayed (larger ones are lowered) or searched with. @default 7 */
  readonly maxTtl?: number;
  /** How often lost neighbours are replaced (and nodes pinged for addresses when short), in ms. @default 5000 */
  readonly maintainMs?: number;
  /** Addresses remembered. @default 1000 */
  readonly knownCapacity?: number;
  /** Query ids remembered. @default 10_000 */
  readonly seenCapacity?: number;
  /** How long a query id is remembered, in ms. @default 600_000 */
  readonly seenExpiryMs?: number;
  /** Connecting and the hello exchange each give up after this long, in ms. @default 5000 */
  readonly connectTimeoutMs?: number;
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

export interface FloodStats {
  /** Overlay messages received and sent on all links since the start (closed ones included). */
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly sent: MessageCounts;
  readonly received: MessageCounts;
  /** Queries dropped because their id was seen before. */
  readonly duplicates: number;
  /** Hits dropped: unknown or forgotten id, wrong neighbour, search over, or the way back closed. */
  readonly dropped: number;
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
  readonly maxTtl: number;
  readonly maintainMs: number;
  readonly knownCapacity: number;
  readonly seenCapacity: number;
  readonly seenExpiryMs: number;
  readonly connectTimeoutMs: number;
  readonly filesPort: number | undefined;
  readonly log: (message: string) => void;
}

export function settings(o: FloodNodeOptions): Settings {
  const s: Settings = {
    target: o.targetNeighbours ?? 4,
    max: o.maxNeighbours ?? 8,
    maxTtl: o.maxTtl ?? 7,
    maintainMs: o.maintainMs ?? 5_000,
    knownCapacity: o.knownCapacity ?? 1000,
    seenCapacity: o.seenCapacity ?? 10_000,
    seenExpiryMs: o.seenExpiryMs ?? 600_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 5_000,
    filesPort: o.filesPort,
    log: o.log ?? (() => undefined),
  };
  if (!Number.isInteger(s.target) || s.target < 1) throw new RangeError(`targetNeighbours ${s.target} is not a positive integer`);
  if (!Number.isInteger(s.max) || s.max < s.target) throw new RangeError(`maxNeighbours ${s.max} is below targetNeighbours ${s.target}`);
  if (!(s.maintainMs > 0) || !(s.connectTimeoutMs > 0)) throw new RangeError('maintainMs and connectTimeoutMs must be positive');
  if (!Number.isInteger(s.knownCapacity) || s.knownCapacity < 1) throw new RangeError(`knownCapacity ${s.knownCapacity} is not a positive integer`);
  if (s.filesPort !== undefined && (!Number.isInteger(s.filesPort) || s.filesPort < 1 || s.filesPort > 65535)) throw new RangeError(`filesPort ${s.filesPort} is not a port`);
  return s;
}
