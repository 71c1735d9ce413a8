import { seededRandom, type Endpoint } from '../../src/net/index.js';
import { parseQuery } from '../../src/overlay/common/shared.js';
import { SuperPeerLeader, SuperPeerMember, type SearchHit, type SuperPeerStats } from '../../src/overlay/superpeer/index.js';
import { pick } from '../dht-network.js';
import { argmax, HOST, makeRow, median, settle, type Outcome, type Row, type ScenarioContext } from './common.js';
import { filesPort, isHolder, type BenchQuery, type Population } from './population.js';

/*
 * The super-peer scenario of bench:overlays (FastTrack/Kazaa, Gnutella 0.6
 * ultrapeers): about sqrt(nodes) of the population's nodes are leaders
 * (SuperPeerLeader; 14 of 200), the rest members (SuperPeerMember) spread
 * over them in turn, all on 127.0.0.1 over real TCP. Leader i links through
 * one to three random leaders before it and then, as leaders do, to others
 * it hears of, up to targetLinks (--superpeer-links, 3 by default as in the overlay; a leader
 * accepts up to targetLinks + 2). Members upload their file lists to
 * their leader; leaders share their own files too.
 *
 * A query goes from the asking member to its leader, which answers from its
 * index and floods it to the other leaders with a TTL. The TTL is the
 * smallest that reaches every leader from every leader, found before the
 * measurement by probing (a search for a hash nobody has, from each leader,
 * counting the leaders it reached); the notes say how many leaders each
 * query reached. A leader that asks searches through itself. As for
 * flooding, the bench waits until the network is quiet after each query,
 * then ends it.
 *
 * Periodic traffic (leader lists, keep-alive pings) is turned down to one an
 * hour while measuring. Hops: overlay hops from the asker to the leader that
 * answered (a member's own leader: 1; a leader's own index: 0).
 */

export const DEFAULT_SUPERPEER_LINKS = 3; // the overlay's own default
/** The leaders' largest TTL (SuperPeerLeader's maxTtl default). */
const MAX_TTL = 7;
const QUIET_MS = 20;
const BACKGROUND_OFF_MS = 3_600_000;
const SEARCH_WAIT_MS = 30_000;

type Node = { readonly kind: 'leader'; readonly node: SuperPeerLeader } | { readonly kind: 'member'; readonly node: SuperPeerMember; readonly leader: number };

function stats(n: Node): SuperPeerStats {
  return n.node.stats();
}

function totalIn(nodes: readonly Node[]): number {
  return nodes.reduce((s, n) => s + stats(n).messagesIn, 0);
}

/** One search, ended when the network is quiet. */
async function ask(nodes: readonly Node[], pop: Population, q: BenchQuery, ttl: number): Promise<Outcome> {
  const asker = nodes[q.from]!;
  const stop = new AbortController();
  const t = performance.now();
  let firstMs: number | undefined;
  const good = (h: SearchHit): boolean => isHolder(pop, q, h.source.hash, h.source.address);
  const options = {
    ttl,
    waitMs: SEARCH_WAIT_MS,
    signal: stop.signal,
    onHit: (source: SearchHit['source'], hops: number) => {
      if (firstMs === undefined && good({ source, hops })) firstMs = performance.now() - t;
    },
  };
  // A member that could not attach has nobody to ask: the query fails and costs nothing.
  if (asker.kind === 'member' && asker.node.leader() === undefined) return { kind: q.kind, found: false, hops: undefined, ms: 0 };
  const search = asker.node.search(q.query, options);
  await settle(() => totalIn(nodes), QUIET_MS);
  stop.abort();
  const { hits } = await search;
  // A member's own leader is one overlay hop away; hit hops count leader links beyond it.
  const extra = asker.kind === 'member' ? 1 : 0;
  const hops = hits.filter(good).map((h) => h.hops + extra);
  const found = hops.length > 0;
  return { kind: q.kind, found, hops: found ? Math.min(...hops) : undefined, ms: firstMs ?? performance.now() - t };
}

/** Leaders (of the first `leaders` nodes) whose count of received queries grew since `before`. */
function leadersReached(nodes: readonly Node[], leaders: number, before: readonly number[]): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < leaders; i++) if ((stats(nodes[i]!).received.query ?? 0) > before[i]!) out.add(i);
  return out;
}

function queriesReceived(nodes: readonly Node[], leaders: number): number[] {
  return nodes.slice(0, leaders).map((n) => stats(n).received.query ?? 0);
}

/** The smallest TTL at which a search from any leader reaches every leader (MAX_TTL if none does). */
async function ttlToReachAll(nodes: readonly Node[], leaders: number): Promise<number> {
  const nobody = parseQuery('0'.repeat(40));
  for (let ttl = 1; ttl < MAX_TTL; ttl++) {
    let all = true;
    for (let i = 0; i < leaders && all; i++) {
      const before = queriesReceived(nodes, leaders);
      const stop = new AbortController();
      const search = (nodes[i]!.node as SuperPeerLeader).search(nobody, { ttl, waitMs: SEARCH_WAIT_MS, signal: stop.signal });
      await settle(() => totalIn(nodes), QUIET_MS);
      stop.abort();
      await search;
      const reached = leadersReached(nodes, leaders, before);
      reached.add(i);
      all = reached.size === leaders;
    }
    if (all) return ttl;
  }
  return MAX_TTL;
}

/** "query 40.1, hit 12.3": the messages of each type sent per query, over all nodes. */
function byTypeLine(before: readonly SuperPeerStats[], after: readonly SuperPeerStats[], queries: number): string {
  const sums = new Map<string, number>();
  after.forEach((s, i) => {
    for (const [t, v] of Object.entries(s.sent)) sums.set(t, (sums.get(t) ?? 0) + v - (before[i]!.sent[t] ?? 0));
  });
  return [...sums].filter(([, v]) => v > 0).map(([t, v]) => `${t} ${(v / queries).toFixed(1)}`).join(', ');
}

export async function runSuperpeer(ctx: ScenarioContext): Promise<Row[]> {
  const { pop } = ctx;
  const random = seededRandom(ctx.seed * 7919 + 3);
  const leaders = Math.max(2, Math.round(Math.sqrt(pop.nodes)));
  const nodes: Node[] = [];
  const t0 = performance.now();
  try {
    ctx.phase('superpeer: leaders listening and linking');
    const addresses: Endpoint[] = [];
    for (let i = 0; i < leaders; i++) {
      const node = new SuperPeerLeader({
        files: pop.holdings[i]!.map((f) => pop.files[f]!),
        filesPort: filesPort(i),
        targetLinks: ctx.superpeerLinks,
        maxMembers: Math.max(50, Math.ceil((2 * pop.nodes) / leaders)),
        announceMs: BACKGROUND_OFF_MS,
        pingMs: BACKGROUND_OFF_MS,
        random: seededRandom(pick(random, 2 ** 48)),
      });
      nodes.push({ kind: 'leader', node });
      addresses.push(await node.listen(HOST, 0));
    }
    for (let i = 1; i < leaders; i++) {
      const via = new Set<number>();
      const want = Math.min(i, 1 + pick(random, 3));
      while (via.size < want) via.add(pick(random, i));
      await (nodes[i]!.node as SuperPeerLeader).link([...via].map((v) => addresses[v]!));
    }
    // Leaders go on linking to the leaders they hear of (lists are sent on every new link): wait until that is over.
    await settle(() => totalIn(nodes), 100);

    ctx.phase('superpeer: members attaching');
    let unattached = 0;
    for (let i = leaders; i < pop.nodes; i++) {
      const leader = (i - leaders) % leaders;
      const node = new SuperPeerMember({
        files: pop.holdings[i]!.map((f) => pop.files[f]!),
        filesPort: filesPort(i),
        pingMs: BACKGROUND_OFF_MS,
        random: seededRandom(pick(random, 2 ** 48)),
      });
      nodes.push({ kind: 'member', node, leader });
      await node.attach([addresses[leader]!]).catch(() => unattached++);
    }
    await settle(() => totalIn(nodes), 100);
    const leaderStats = nodes.slice(0, leaders).map(stats);
    const links = leaderStats.map((s) => s.links);
    const indexed = leaderStats.reduce((n, s) => n + s.files, 0);
    ctx.log(
      `superpeer: ${leaders} leaders, target ${ctx.superpeerLinks} links (links min ${Math.min(...links)} median ${median(links)} max ${Math.max(...links)}), ` +
        `${pop.nodes - leaders} members (${leaderStats.reduce((n, s) => n + s.members, 0)} attached${unattached > 0 ? `, ${unattached} could not attach` : ''}), ${indexed} files indexed, ` +
        `set up in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    ctx.phase('superpeer: finding the TTL that reaches every leader');
    const ttl = await ttlToReachAll(nodes, leaders);
    ctx.log(`superpeer: ttl ${ttl} reaches every leader from every leader${ttl === MAX_TTL ? ' (or the largest, if none does)' : ''}`);

    ctx.phase('superpeer: searching');
    const before = nodes.map(stats);
    const outcomes: Outcome[] = [];
    const reached: number[] = [];
    for (const q of pop.queries) {
      const leadersBefore = queriesReceived(nodes, leaders);
      outcomes.push(await ask(nodes, pop, q, ttl));
      // Leaders that got the query (from a member or a link); a leader that asked counts itself.
      const got = leadersReached(nodes, leaders, leadersBefore);
      if (q.from < leaders) got.add(q.from);
      reached.push(got.size);
    }
    const after = nodes.map(stats);
    const sent = after.reduce((n, s, i) => n + s.messagesOut - before[i]!.messagesOut, 0);
    const busiest = argmax(after.map((s, i) => s.messagesIn - before[i]!.messagesIn));
    const b = nodes[busiest.index];
    const byType = byTypeLine(before, after, pop.queries.length);
    return [
      makeRow({
        name: 'superpeer',
        overlay: 'superpeer',
        ttl,
        outcomes,
        messages: sent,
        busiestReceived: busiest.value,
        busiest: b === undefined ? '-' : `${b.kind} ${busiest.index}${b.kind === 'leader' ? ` (${after[busiest.index]!.members} members, ${after[busiest.index]!.links} links)` : ''}`,
        notes: [
          `${leaders} leaders, ${pop.nodes - leaders} members; ttl ${ttl}; leaders reached per query median ${median(reached)} min ${Math.min(...reached)} of ${leaders}`,
          'hops = overlay hops from the asker to the leader that answered (its own leader: 1)',
          `messages sent per query by type: ${byType}`,
        ],
      }),
    ];
  } finally {
    // Members first, so leaders do not see them leave one by one while they close.
    await Promise.all(nodes.filter((n) => n.kind === 'member').map((n) => n.node.close()));
    await Promise.all(nodes.filter((n) => n.kind === 'leader').map((n) => n.node.close()));
  }
}
