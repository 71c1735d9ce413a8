import { realClock, tcpTransport, type Clock, type StreamTransport } from '../../net/index.js';
import { formatEndpoint, type SharedFile } from '../../overlay/index.js';
import { FloodNode } from '../../overlay/flood/index.js';
import { plural } from '../format.js';
import type { OverlayKind, RunningNode, SearchContext, ServeContext } from '../overlay.js';

/*
 * `peerkit flood serve|share|search|get`: the query-flooding overlay
 * (src/overlay/flood, docs/flood.md) as an OverlayKind for the generic
 * overlay command (src/cli/overlay.ts). serve runs a relay that shares
 * nothing; share runs the same node with files; search starts a leaf that
 * listens nowhere, links to the contacts, floods one query and leaves.
 */

export interface FloodKindOptions {
  /** @default tcpTransport */
  readonly transport?: StreamTransport;
  /** @default realClock */
  readonly clock?: Clock;
  /** Maintenance interval of serve and share nodes. @default 5000 */
  readonly maintainMs?: number;
}

/** The kind with its network and timers injectable (tests); `floodKind` is the real one. */
export function createFloodKind(options: FloodKindOptions = {}): OverlayKind {
  const base = { transport: options.transport ?? tcpTransport, clock: options.clock ?? realClock, ...(options.maintainMs !== undefined && { maintainMs: options.maintainMs }) };
  return {
    name: 'flood',
    summary: 'query-flooding search overlay (Gnutella-style): serve, share, search, get',
    about:
      'An unstructured overlay, as Gnutella 0.4 was: every node keeps a few neighbours (4 wanted, 8 at most) and nothing else. A search goes to all the neighbours, who pass it on to theirs, one hop less each time, until its TTL runs out; a node that has the file answers, and the answer travels back along the path the query came. Nodes join through any node they know and replace neighbours that leave.\n\n' +
      'Nothing is central, so nothing single can fail, but a search costs a message on nearly every link within TTL hops, and a file further away than that is not found.',
    contactFlag: 'peer',
    contactHelp: 'a node of the network to join through (repeat for more)',
    serveTakesContacts: true,
    shareNeedsContact: false,
    defaultPort: 6346,
    defaultTtl: 7,
    defaultWaitSeconds: 3,
    serve: (ctx) => start(ctx, [], undefined, base),
    share: (ctx) => start(ctx, ctx.files, ctx.filesPort, base),
    search: (ctx) => search(ctx, base),
  };
}

export const floodKind: OverlayKind = createFloodKind();

async function start(ctx: ServeContext, files: readonly SharedFile[], filesPort: number | undefined, base: { transport: StreamTransport; clock: Clock; maintainMs?: number }): Promise<RunningNode> {
  const node = new FloodNode({ ...base, files, ...(filesPort !== undefined && { filesPort }), log: ctx.log });
  try {
    const address = await node.listen(ctx.host, ctx.port);
    if (ctx.contacts.length === 0) ctx.log(`flood node listening on ${formatEndpoint(address)}; others join with --peer <this host>:${address.port}`);
    else ctx.log(`flood node listening on ${formatEndpoint(address)}, joined with ${plural(await node.join(ctx.contacts), 'neighbour')}`);
  } catch (e) {
    await node.close();
    throw e;
  }
  return {
    status: () => {
      const s = node.stats();
      return `${plural(s.neighbours, 'neighbour')}, ${s.queries} ${s.queries === 1 ? 'query' : 'queries'} relayed, ${s.answered} answered`;
    },
    close: () => node.close(),
    // A flood node does not stop by itself: with no neighbours left it keeps looking for some.
    failed: new Promise<Error>(() => undefined),
  };
}

async function search(ctx: SearchContext, base: { transport: StreamTransport; clock: Clock }): Promise<void> {
  if (ctx.signal.aborted) return;
  // A leaf: it listens nowhere (hello port 0, so nobody is told about it) and links to the contacts only,
  // or to the nodes a full contact names instead.
  const node = new FloodNode({ ...base, targetNeighbours: Math.min(8, Math.max(1, ctx.contacts.length)), log: ctx.log });
  try {
    try {
      await node.join(ctx.contacts, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted) return; // Ctrl-C (or the caller is done) while joining: no search, no error
      throw e;
    }
    await node.search(ctx.query, { ttl: ctx.ttl, waitMs: ctx.waitMs, onHit: ctx.onHit, signal: ctx.signal });
  } finally {
    await node.close();
  }
}
