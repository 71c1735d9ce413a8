/*
 * What one flooded search costs, worked out from the graph instead of
 * measured: the benchmark and the tests compare the Query messages a real
 * network sends with this count.
 *
 * Under the forwarding rule (router.ts, docs/flood.md) a node at graph
 * distance d from the origin gets its first copy with hops = d and
 * TTL = T - d + 1, so it forwards exactly when d <= T - 1. The origin sends
 * one copy to each of its deg(origin) neighbours; every other forwarding
 * node sends one to each neighbour but the one it first heard from,
 * deg(v) - 1. Duplicates are dropped without forwarding, so:
 *
 *   queryMessages = deg(origin) + sum over v with 1 <= d(v) <= T - 1 of (deg(v) - 1)
 *
 * and the nodes reached are those with 1 <= d(v) <= T.
 */

export interface FloodCost {
  /** Query messages sent in all (every copy on every link, duplicates included). */
  readonly queryMessages: number;
  /** Nodes other than the origin that receive the query. */
  readonly reached: number;
  /** Breadth-first distance from the origin of every node it can reach (origin: 0), not cut at the TTL. */
  readonly distances: Map<string, number>;
}

/**
 * `adjacency` lists each node's neighbours (links are taken as given: list
 * a link at both ends). Nodes that appear only as someone's neighbour count
 * as having no links of their own.
 */
export function floodCost(adjacency: ReadonlyMap<string, readonly string[]>, origin: string, ttl: number): FloodCost {
  if (!Number.isInteger(ttl) || ttl < 0) throw new RangeError(`ttl ${ttl} is not a non-negative integer`);
  const degree = (v: string): number => new Set(adjacency.get(v) ?? []).size;
  const distances = new Map<string, number>([[origin, 0]]);
  const queue = [origin];
  for (let i = 0; i < queue.length; i++) {
    const v = queue[i]!;
    const d = distances.get(v)!;
    for (const w of adjacency.get(v) ?? []) {
      if (distances.has(w)) continue;
      distances.set(w, d + 1);
      queue.push(w);
    }
  }
  let queryMessages = 0;
  let reached = 0;
  for (const [v, d] of distances) {
    if (d >= 1 && d <= ttl) reached++;
    if (d > ttl - 1) continue;
    queryMessages += v === origin ? degree(v) : degree(v) - 1;
  }
  return { queryMessages, reached, distances };
}
