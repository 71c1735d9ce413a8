import { realClock, tcpTransport, type Clock, type StreamTransport } from '../../net/index.js';
import { formatEndpoint } from '../../overlay/index.js';
import { searchLeaders, SuperPeerLeader, SuperPeerMember } from '../../overlay/superpeer/index.js';
import { plural } from '../format.js';
import type { OverlayKind, RunningNode, SearchContext, ServeContext, ShareContext } from '../overlay.js';

/*
 * `peerkit superpeer serve|share|search|get`: the super-peer overlay
 * (src/overlay/superpeer, docs/superpeer.md) as an OverlayKind for the
 * generic overlay command (src/cli/overlay.ts). serve runs a leader linked
 * to the leaders given; share runs a member that attaches to one of them
 * and may be promoted to leader on its own --host/--port; search asks a
 * leader directly, without joining.
 */

export interface SuperpeerKindOptions {
  /** @default tcpTransport */
  readonly transport?: StreamTransport;
  /** @default realClock */
  readonly clock?: Clock;
}

/** The kind with its network and clock injectable (tests); `superpeerKind` is the real one. */
export function createSuperpeerKind(options: SuperpeerKindOptions = {}): OverlayKind {
  const transport = options.transport ?? tcpTransport;
  const clock = options.clock ?? realClock;
  return {
    name: 'superpeer',
    summary: 'super-peer search overlay (FastTrack/Kazaa-style leaders): serve, share, search, get',
    about:
      'A two-level overlay, as FastTrack (Kazaa) and Gnutella 0.6 ultrapeers had: ordinary peers attach to one leader and upload the list of what they share; leaders are linked to each other. A search goes to a leader, which answers from its members\' lists and floods the query, with a TTL, to the other leaders only, so a search costs messages in proportion to the leaders, not to all the peers.\n\n' +
      'A peer whose leader goes away attaches to another one it has heard of. When the leaders are too few or too full, a sharing peer may be asked to become a leader itself, listening on its --host and --port.',
    contactFlag: 'leader',
    contactHelp: 'a leader (serve: to link with; share, search, get: to attach to or ask), default port 6348',
    serveTakesContacts: true,
    shareNeedsContact: true,
    defaultPort: 6348,
    defaultTtl: 4,
    defaultWaitSeconds: 3,
    serve: (ctx) => serve(ctx, transport, clock),
    share: (ctx) => share(ctx, transport, clock),
    search: (ctx) => search(ctx, transport, clock),
  };
}

export const superpeerKind: OverlayKind = createSuperpeerKind();

function leaderStatus(leader: SuperPeerLeader): string {
  const s = leader.stats();
  return `leader of ${plural(s.members, 'member')} (${plural(s.files, 'file')}), linked to ${plural(s.links, 'leader')}`;
}

async function serve(ctx: ServeContext, transport: StreamTransport, clock: Clock): Promise<RunningNode> {
  const leader = new SuperPeerLeader({ transport, clock });
  const at = await leader.listen(ctx.host, ctx.port);
  ctx.log(`leader listening on ${formatEndpoint(at)}`);
  if (ctx.contacts.length > 0) {
    const linked = await leader.link(ctx.contacts);
    ctx.log(`linked to ${linked} of the ${plural(ctx.contacts.length, 'leader')} given`);
  }
  return {
    status: () => leaderStatus(leader),
    close: () => leader.close(),
    // A leader has nothing that stops it by itself: lost links and members are replaced.
    failed: new Promise<Error>(() => undefined),
  };
}

async function share(ctx: ShareContext, transport: StreamTransport, clock: Clock): Promise<RunningNode> {
  const member = new SuperPeerMember({
    transport,
    clock,
    files: ctx.files,
    filesPort: ctx.filesPort,
    // Port 0 (any free one) cannot be announced: such a member is never promoted.
    ...(ctx.port > 0 && { capable: { host: ctx.host, port: ctx.port } }),
    onEvent: (e) => {
      const at = e.leader === undefined ? '' : ` ${formatEndpoint(e.leader)}`;
      if (e.kind === 'attached') ctx.log(`attached to leader${at}`);
      else if (e.kind === 'lost-leader') ctx.log(`lost leader${at}; looking for another`);
      else if (e.kind === 'redirected') ctx.log(`leader${at} sent us elsewhere`);
      else ctx.log(`promoted: now a leader on${at}`);
    },
  });
  try {
    await member.attach(ctx.contacts);
  } catch (e) {
    await member.close();
    throw e;
  }
  return {
    status: () => {
      const led = member.promotedLeader();
      if (led !== undefined) return leaderStatus(led);
      const at = member.leader();
      return at === undefined ? 'looking for a leader' : `member of ${formatEndpoint(at)}`;
    },
    close: () => member.close(),
    // It keeps looking for a leader while it has none: nothing stops it by itself.
    failed: new Promise<Error>(() => undefined),
  };
}

async function search(ctx: SearchContext, transport: StreamTransport, clock: Clock): Promise<void> {
  await searchLeaders(ctx.contacts, ctx.query, { transport, clock, ttl: ctx.ttl, waitMs: ctx.waitMs, onHit: ctx.onHit, signal: ctx.signal });
}
