import { seededRandom, type Endpoint } from '../../src/net/index.js';
import { formatEndpoint } from '../../src/overlay/common/shared.js';
import { floodCost, FloodNode, type FloodHit, type FloodStats } from '../../src/overlay/flood/index.js';
import { pick } from '../dht-network.js';
import { argmax, HOST, makeRow, settle, type Outcome, type Row, type ScenarioContext } from './common.js';
import { filesPort, isHolder, type BenchQuery, type Population } from './population.js';

/*
 * The flooding scenario of bench:overlays (Gnutella 0.4 style): every node
 * of the population a FloodNode on 127.0.0.1 over real TCP. Node i joins
 * through one to three random nodes before it, and then, as join does, asks
 * its neighbours for addresses and dials until it has targetNeighbours
 * (--flood-target, 2 by default); a node accepts up to 8. A link counts at
 * both ends, and later nodes dial the earlier ones, so the mean degree ends
 * near twice the target: about 4 with 2. (With a target of 4 the mean is
 * over 6 and most early nodes are full, so newcomers that only know full
 * nodes are turned away from all of them.) A node whose join failed tries
 * again through other random nodes, as its maintenance would. Maintenance
 * is then turned down (one tick an hour) so the graph stays as built while
 * messages are counted.
 *
 * Then the same queries are flooded once for each TTL from 1 to 7, one at a
 * time: after each, the bench waits until the network is quiet (the total
 * of messages received by all nodes unchanged for QUIET_MS) and ends the
 * search. The Query messages sent by all nodes during that query are
 * compared with floodCost (src/overlay/flood/graph.ts) for the graph read
 * from the nodes' neighbour lists, the origin and the TTL.
 *
 * Messages per query: all messages sent (queries and hits) during the TTL's
 * query phase / queries. Busiest node: the most messages one node received
 * in that phase / queries. Hops: of the nearest holder that answered.
 */

export const TTLS = [1, 2, 3, 4, 5, 6, 7];
export const DEFAULT_FLOOD_TARGET = 2;
const MAX_NEIGHBOURS = 8;
/** Rounds of joining again for nodes left without neighbours. */
const JOIN_RETRIES = 3;
const MAINTAIN_OFF_MS = 3_600_000;
const QUIET_MS = 20;
/** A search's own timer: far longer than any flood here takes; the bench ends each search when the network is quiet. */
const SEARCH_WAIT_MS = 30_000;

const key = (e: Endpoint): string => formatEndpoint(e);

export interface FloodNetwork {
  readonly nodes: FloodNode[];
  readonly addresses: Endpoint[];
  readonly adjacency: Map<string, string[]>;
  /** Joins that failed, and nodes still without a neighbour after the retries. */
  readonly joinFailures: number;
  readonly isolated: number;
  /** Links listed at one end only. */
  readonly oneSided: number;
}

/** Build the flooding graph: nodes listen, join one at a time; returns it with its adjacency as the nodes see it. */
export async function buildFloodNetwork(pop: Population, seed: number, target: number, phase: (name: string) => void): Promise<FloodNetwork> {
  const random = seededRandom(seed * 7919 + 2);
  const nodes: FloodNode[] = [];
  const addresses: Endpoint[] = [];
  phase('flood: listening');
  for (let i = 0; i < pop.nodes; i++) {
    const node = new FloodNode({
      files: pop.holdings[i]!.map((f) => pop.files[f]!),
      filesPort: filesPort(i),
      targetNeighbours: target,
      maxNeighbours: Math.max(MAX_NEIGHBOURS, target),
      maintainMs: MAINTAIN_OFF_MS,
      random: seededRandom(pick(random, 2 ** 48)),
    });
    nodes.push(node);
    addresses.push(await node.listen(HOST, 0));
  }
  phase('flood: joining');
  let joinFailures = 0;
  /** Join node i through one to three random nodes of the first `among` (itself left out). */
  const join = async (i: number, among: number): Promise<void> => {
    const via = new Set<number>();
    const want = Math.min(among - (i < among ? 1 : 0), 1 + pick(random, 3));
    while (via.size < want) {
      const v = pick(random, among);
      if (v !== i) via.add(v);
    }
    await nodes[i]!.join([...via].map((v) => addresses[v]!)).catch(() => joinFailures++);
  };
  for (let i = 1; i < nodes.length; i++) await join(i, i);
  for (let round = 0; round < JOIN_RETRIES; round++) {
    const alone = nodes.flatMap((n, i) => (i > 0 && n.neighbours().length === 0 ? [i] : []));
    for (const i of alone) await join(i, nodes.length);
  }
  await settle(() => totalIn(nodes), QUIET_MS * 5);
  const adjacency = new Map(nodes.map((n, i) => [key(addresses[i]!), n.neighbours().map(key)]));
  let oneSided = 0;
  for (const [v, ws] of adjacency) for (const w of ws) if (!(adjacency.get(w) ?? []).includes(v)) oneSided++;
  const isolated = nodes.filter((n) => n.neighbours().length === 0).length;
  return { nodes, addresses, adjacency, joinFailures, isolated, oneSided };
}

function totalIn(nodes: readonly FloodNode[]): number {
  return nodes.reduce((n, x) => n + x.stats().messagesIn, 0);
}

function totalQueriesSent(nodes: readonly FloodNode[]): number {
  return nodes.reduce((n, x) => n + x.stats().sent.query, 0);
}

/** One flooded search, ended when the network is quiet; the Query messages it cost. */
async function flood(net: FloodNetwork, pop: Population, q: BenchQuery, ttl: number): Promise<{ outcome: Outcome; queryMessages: number }> {
  const { nodes } = net;
  const queriesBefore = totalQueriesSent(nodes);
  const stop = new AbortController();
  const t = performance.now();
  let firstMs: number | undefined;
  const isGood = (h: FloodHit): boolean => isHolder(pop, q, h.source.hash, h.source.address);
  // A node that could not join has nobody to ask: the query fails and costs nothing.
  if (nodes[q.from]!.neighbours().length === 0) return { outcome: { kind: q.kind, found: false, hops: undefined, ms: 0 }, queryMessages: 0 };
  const search = nodes[q.from]!.search(q.query, {
    ttl,
    waitMs: SEARCH_WAIT_MS,
    signal: stop.signal,
    onHit: (source, hops) => {
      if (firstMs === undefined && isGood({ source, hops })) firstMs = performance.now() - t;
    },
  });
  await settle(() => totalIn(nodes), QUIET_MS);
  stop.abort();
  const { hits } = await search;
  const good = hits.filter(isGood).map((h) => h.hops);
  const found = good.length > 0;
  return {
    outcome: { kind: q.kind, found, hops: found ? Math.min(...good) : undefined, ms: firstMs ?? performance.now() - t },
    queryMessages: totalQueriesSent(nodes) - queriesBefore,
  };
}

export async function runFlood(ctx: ScenarioContext): Promise<Row[]> {
  const { pop } = ctx;
  const t0 = performance.now();
  const net = await buildFloodNetwork(pop, ctx.seed, ctx.floodTarget, ctx.phase);
  const { nodes, adjacency } = net;
  try {
    const degrees = [...adjacency.values()].map((ws) => ws.length);
    const mean = degrees.reduce((a, b) => a + b, 0) / Math.max(1, degrees.length);
    const reachable = floodCost(adjacency, key(net.addresses[0]!), pop.nodes).distances.size;
    ctx.log(
      `flood: ${nodes.length} nodes joined in ${((performance.now() - t0) / 1000).toFixed(1)} s, target ${ctx.floodTarget} neighbours ` +
        `(${net.joinFailures} joins failed${net.joinFailures > 0 ? `, ${net.isolated} nodes left without neighbours after ${JOIN_RETRIES} retries` : ''}); ` +
        `degree min ${Math.min(...degrees)} mean ${mean.toFixed(2)} max ${Math.max(...degrees)}; ${reachable} of ${nodes.length} nodes connected to node 0` +
        `${net.oneSided > 0 ? `; ${net.oneSided} links seen from one end only` : ''}`,
    );

    const rows: Row[] = [];
    for (const ttl of TTLS) {
      ctx.phase(`flood: searching with ttl ${ttl}`);
      const before = nodes.map((n) => n.stats());
      const outcomes: Outcome[] = [];
      let matched = 0;
      let analytical = 0;
      let measuredQueries = 0;
      for (const q of pop.queries) {
        const r = await flood(net, pop, q, ttl);
        const expected = floodCost(adjacency, key(net.addresses[q.from]!), ttl).queryMessages;
        outcomes.push(r.outcome);
        analytical += expected;
        measuredQueries += r.queryMessages;
        if (r.queryMessages === expected) matched++;
      }
      const after = nodes.map((n) => n.stats());
      const sent = after.reduce((n, s, i) => n + s.messagesOut - before[i]!.messagesOut, 0);
      const busiest = argmax(after.map((s, i) => s.messagesIn - before[i]!.messagesIn));
      const n = pop.queries.length;
      const types = Object.keys(after[0]?.sent ?? {}) as (keyof FloodStats['sent'])[];
      const byType = types
        .map((t) => [t, after.reduce((m, s, i) => m + s.sent[t] - before[i]!.sent[t], 0)] as const)
        .filter(([, v]) => v > 0)
        .map(([t, v]) => `${t} ${(v / n).toFixed(1)}`)
        .join(', ');
      const row = makeRow({
        name: `flood ttl=${ttl}`,
        overlay: 'flood',
        ttl,
        outcomes,
        messages: sent,
        busiestReceived: busiest.value,
        busiest: `node ${busiest.index} (${key(net.addresses[busiest.index]!)}, degree ${degrees[busiest.index]})`,
        analytical: { queryMessagesPerQuery: analytical / n, measuredQueryMessagesPerQuery: measuredQueries / n, matched, of: n },
        notes: [
          ...(ttl === TTLS[0] ? [`graph (the same for every TTL): target ${ctx.floodTarget} neighbours, degree mean ${mean.toFixed(2)}, ${net.isolated} nodes without neighbours`] : []),
          `messages sent per query by type: ${byType}`,
        ],
      });
      rows.push(row);
      ctx.log(`flood ttl=${ttl}: success ${row.successPct.toFixed(1)}%, ${row.messagesPerQuery.toFixed(1)} messages/query, floodCost matched ${matched}/${n}`);
    }
    return rows;
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
}
