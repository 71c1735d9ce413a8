import { DhtNode, randomId } from '../src/dht/index.js';
import { bindUdp, seededRandom, type Endpoint, type Random } from '../src/net/index.js';

/*
 * Building a DHT of many real nodes on loopback UDP in one process, shared by
 * bench:dht (bench/dht.ts) and bench:overlays (bench/overlays/dht.ts).
 *
 * Joining: the first SEED_NODES nodes join one by one, each through the ones
 * before it. After that nodes join in batches that run concurrently (a
 * quarter of the network size at most, and `joinBatch`), each node through
 * one to three random nodes already in the network, as a client joins
 * through whatever nodes it happens to know; nobody is a router that every
 * node must go through. A node joins as BEP 5 says: ping the nodes it
 * knows, then look up its own id. Then, if `refresh`, every node looks up
 * its own id once more, which is what a node's bucket refresh would do over
 * its first minutes: the nodes that joined early learn of the ones that came
 * later near them.
 *
 * The order in which `random` is drawn from is part of the benches' seeds:
 * changing it changes every seeded run.
 */

export const SEED_NODES = 8;
export const HOST = '127.0.0.1';

export interface NetworkConfig {
  readonly nodes: number;
  readonly joinBatch: number;
  readonly refresh: boolean;
}

export interface Network {
  readonly nodes: DhtNode[];
  readonly joinMs: number;
  readonly refreshMs: number;
  readonly batches: number;
  /** Joins that failed (no bootstrap node answered). */
  readonly joinFailures: number;
}

/** Run `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function pick(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/**
 * Bind the sockets, join the nodes, and refresh. Rejects (with a message for
 * the user) when a socket cannot be bound; the nodes bound so far are closed.
 */
export async function buildNetwork(cfg: NetworkConfig, random: Random, phase: (name: string) => void): Promise<Network> {
  phase('binding sockets');
  const nodes: DhtNode[] = [];
  for (let i = 0; i < cfg.nodes; i++) {
    const socket = await bindUdp(HOST, 0).catch((e: NodeJS.ErrnoException) => {
      for (const n of nodes) n.close();
      throw new Error(e.code === 'EMFILE' ? `out of file descriptors after ${i} sockets: raise \`ulimit -n\` above ${cfg.nodes + 100}` : `binding a UDP socket: ${e.message}`);
    });
    // Each node its own generator (tokens, peer sampling), seeded from the bench's.
    const own = seededRandom(pick(random, 2 ** 48));
    nodes.push(new DhtNode({ socket, random: own, id: randomId(random), queryRate: Infinity }));
  }

  phase('joining');
  const t0 = performance.now();
  let joinFailures = 0;
  const join = async (node: DhtNode, among: number): Promise<void> => {
    // One to three distinct random nodes of the first `among`, which are in already.
    const via = new Set<number>();
    const want = Math.min(among, 1 + pick(random, 3));
    while (via.size < want) via.add(pick(random, among));
    const endpoints: Endpoint[] = [...via].map((i) => nodes[i]!.local);
    try {
      await node.bootstrap(endpoints);
    } catch {
      joinFailures++;
    }
  };
  for (let i = 1; i < Math.min(SEED_NODES, cfg.nodes); i++) await join(nodes[i]!, i);
  let joined = Math.min(SEED_NODES, cfg.nodes);
  let batches = 0;
  while (joined < cfg.nodes) {
    const size = Math.min(cfg.joinBatch, Math.max(1, Math.floor(joined / 4)), cfg.nodes - joined);
    const among = joined;
    await Promise.all(nodes.slice(joined, joined + size).map((n) => join(n, among)));
    joined += size;
    batches++;
  }
  const joinMs = performance.now() - t0;

  let refreshMs = 0;
  if (cfg.refresh) {
    phase('refresh pass');
    const t1 = performance.now();
    await pool(nodes, cfg.joinBatch, (n) => n.findNode(n.id));
    refreshMs = performance.now() - t1;
  }
  return { nodes, joinMs, refreshMs, batches, joinFailures };
}
