import type { DhtNode } from '../../src/dht/index.js';
import { seededRandom } from '../../src/net/index.js';
import { buildNetwork, pool } from '../dht-network.js';
import { makeRow, argmax, HOST, type Outcome, type Row, type ScenarioContext } from './common.js';
import { filesPort, isHolder } from './population.js';

/*
 * The DHT scenario of bench:overlays: the population's nodes as Kademlia
 * nodes (src/dht) on 127.0.0.1 UDP, joined as bench:dht joins them
 * (bench/dht-network.ts). Every holder announces each of its files
 * (announce_peer with the content hash as the infohash and the node's files
 * port); then each hash query is a get_peers from the asking node, and it
 * succeeds when the address of a holder comes back.
 *
 * A DHT finds keys, not words: keyword queries cannot be asked of it, so the
 * DHT's row covers the hash queries only.
 *
 * Messages: every KRPC query sent by any node during the query phase, plus
 * the replies to them. DhtStats counts queries sent and received but not the
 * replies sent; every query a node receives is answered (a reply or an
 * error), so replies sent = queries received. The load on a node is what it
 * received: the queries it answered and the replies to its own queries
 * (Rpc.stats.repliesReceived, which DhtStats leaves out).
 *
 * Hops: the round trip of the lookup at which a holder's address first came
 * back (1: a node of the asker's own table had it). The lookup goes on after
 * that, to the K closest nodes, as get_peers lookups do; its cost is in the
 * message count.
 */

const IN_FLIGHT = 8;

interface Counts {
  sent: number;
  received: number;
  /** Every datagram that arrived, dropped ones (late replies, garbage) included. */
  arrived: number;
}

function counts(n: DhtNode): Counts {
  const s = n.stats();
  const replies = n.rpc.stats.repliesReceived;
  return { sent: s.queriesSent + s.queriesReceived, received: s.queriesReceived + replies, arrived: s.queriesReceived + replies + s.dropped };
}

export async function runDht(ctx: ScenarioContext): Promise<Row[]> {
  const { pop } = ctx;
  const random = seededRandom(ctx.seed * 7919 + 4);
  const t0 = performance.now();
  const net = await buildNetwork({ nodes: pop.nodes, joinBatch: 64, refresh: true }, random, (p) => ctx.phase(`dht: ${p}`));
  const { nodes } = net;
  try {
    ctx.phase('dht: announcing');
    const announces = pop.holdings.flatMap((files, node) => files.map((file) => ({ node, file })));
    const stored = await pool(announces, 16, async (a) => (await nodes[a.node]!.announce(Buffer.from(pop.files[a.file]!.hash, 'hex'), filesPort(a.node))).stored);
    const storedNowhere = stored.filter((s) => s === 0).length;
    ctx.log(
      `dht: ${nodes.length} nodes joined in ${((performance.now() - t0) / 1000).toFixed(1)} s (${net.joinFailures} joins failed); ` +
        `${announces.length} announces${storedNowhere > 0 ? `, ${storedNowhere} stored nowhere` : ''}`,
    );

    ctx.phase('dht: get_peers');
    const before = nodes.map(counts);
    const hashQueries = pop.queries.filter((q) => q.kind === 'hash');
    const outcomes = await pool(hashQueries, IN_FLIGHT, async (q): Promise<Outcome> => {
      const t = performance.now();
      const r = await nodes[q.from]!.getPeers(Buffer.from(pop.files[q.file]!.hash, 'hex'));
      const ms = performance.now() - t;
      const found = r.peers.some((p) => isHolder(pop, q, pop.files[q.file]!.hash, p));
      return { kind: 'hash', found, hops: found ? r.firstFoundAt : undefined, ms };
    });
    const after = nodes.map(counts);
    const delta = (i: number): Counts => ({ sent: after[i]!.sent - before[i]!.sent, received: after[i]!.received - before[i]!.received, arrived: after[i]!.arrived - before[i]!.arrived });
    const sent = nodes.reduce((n, _, i) => n + delta(i).sent, 0);
    const arrived = nodes.reduce((n, _, i) => n + delta(i).arrived, 0);
    const busiest = argmax(nodes.map((_, i) => delta(i).received));
    return [
      makeRow({
        name: 'dht',
        overlay: 'dht',
        outcomes,
        messages: sent,
        busiestReceived: busiest.value,
        busiest: `node ${busiest.index} (${HOST}:${nodes[busiest.index]?.local.port ?? '?'})`,
        notes: [
          'hash queries only: a DHT cannot search for words',
          `hops = get_peers round trip at which a holder first came back; ${IN_FLIGHT} lookups at a time`,
          arrived === sent ? 'every datagram counted as sent arrived' : `${sent} datagrams counted as sent (queries + replies), ${arrived} arrived`,
        ],
      }),
    ];
  } finally {
    for (const n of nodes) n.close();
  }
}
