import type { Population } from './population.js';

/*
 * What the scenarios of bench:overlays share: the row each overlay
 * configuration reports (one line of the table and of overlays.json), how a
 * row is summed up from per-query outcomes, and small statistics helpers.
 */

export const HOST = '127.0.0.1';

/** What one query came to. */
export interface Outcome {
  readonly kind: 'hash' | 'keywords';
  readonly found: boolean;
  /** Overlay hops (or DHT round trips) to the first good answer; undefined when not found. */
  readonly hops: number | undefined;
  readonly ms: number;
}

export interface Row {
  /** "directory", "flood ttl=3", "superpeer", "dht". */
  readonly name: string;
  readonly overlay: 'directory' | 'flood' | 'superpeer' | 'dht';
  readonly ttl?: number;
  /** Queries asked (the DHT asks the hash queries only). */
  readonly queries: number;
  readonly succeeded: number;
  readonly successPct: number;
  readonly byKind: { readonly hash: { ok: number; of: number }; readonly keywords: { ok: number; of: number } };
  /** Overlay messages sent by all nodes during the query phase. */
  readonly messages: number;
  readonly messagesPerQuery: number;
  readonly hopsMedian: number | null;
  readonly hopsMax: number | null;
  /** Time to the first good answer, of the queries that found one (loopback: this process's CPU, not a network). */
  readonly msMedian: number | null;
  /** The most messages one node received during the query phase, per query. */
  readonly busiestPerQuery: number;
  /** Which node that was ("the server", "node 17"). */
  readonly busiest: string;
  /**
   * Flooding: the Query messages floodCost gives for the same graph (per query, mean), the Query
   * messages measured (hits not included), and for how many queries the two were equal.
   */
  readonly analytical?: { readonly queryMessagesPerQuery: number; readonly measuredQueryMessagesPerQuery: number; readonly matched: number; readonly of: number };
  readonly notes: readonly string[];
}

export interface ScenarioContext {
  readonly pop: Population;
  readonly seed: number;
  /** Flooding: the neighbours each node looks for (FloodNode targetNeighbours). */
  readonly floodTarget: number;
  /** Super-peers: the links to other leaders each leader looks for (SuperPeerLeader targetLinks). */
  readonly superpeerLinks: number;
  /** Names what is going on, for the --max-seconds message. */
  readonly phase: (name: string) => void;
  /** One line of progress on stdout. */
  readonly log: (line: string) => void;
}

/** Lower median (null for none). */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

export function max(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => Math.max(a, b));
}

/** A row from the outcomes and the message counts of the query phase. */
export function makeRow(r: {
  name: string;
  overlay: Row['overlay'];
  ttl?: number;
  outcomes: readonly Outcome[];
  messages: number;
  busiestReceived: number;
  busiest: string;
  analytical?: Row['analytical'];
  notes?: readonly string[];
}): Row {
  const n = r.outcomes.length;
  const ok = r.outcomes.filter((o) => o.found);
  const kind = (k: Outcome['kind']): { ok: number; of: number } => ({ ok: ok.filter((o) => o.kind === k).length, of: r.outcomes.filter((o) => o.kind === k).length });
  const hops = ok.flatMap((o) => (o.hops === undefined ? [] : [o.hops]));
  return {
    name: r.name,
    overlay: r.overlay,
    ...(r.ttl !== undefined && { ttl: r.ttl }),
    queries: n,
    succeeded: ok.length,
    successPct: n === 0 ? 0 : (100 * ok.length) / n,
    byKind: { hash: kind('hash'), keywords: kind('keywords') },
    messages: r.messages,
    messagesPerQuery: n === 0 ? 0 : r.messages / n,
    hopsMedian: median(hops),
    hopsMax: max(hops),
    msMedian: median(ok.map((o) => o.ms)),
    busiestPerQuery: n === 0 ? 0 : r.busiestReceived / n,
    busiest: r.busiest,
    ...(r.analytical !== undefined && { analytical: r.analytical }),
    notes: r.notes ?? [],
  };
}

/** The index and value of the largest element. */
export function argmax(xs: readonly number[]): { index: number; value: number } {
  let index = -1;
  let value = -Infinity;
  xs.forEach((x, i) => {
    if (x > value) [index, value] = [i, x];
  });
  return { index, value: index < 0 ? 0 : value };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wait until the network is quiet: `count()` (e.g. the total of messages
 * received by all nodes) unchanged over `quietMs`, polled every few ms.
 * Rejects after `limitMs`, so a node that chatters forever cannot hang the bench.
 */
export async function settle(count: () => number, quietMs = 20, limitMs = 10_000): Promise<void> {
  const start = performance.now();
  let last = count();
  let since = performance.now();
  for (;;) {
    await sleep(Math.min(5, quietMs));
    const now = count();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) return;
    if (performance.now() - start > limitMs) throw new Error(`the network did not go quiet within ${limitMs / 1000} s`);
  }
}
