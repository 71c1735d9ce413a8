import { parseArgs } from 'node:util';
import { encode } from '../src/bencode/index.js';
import { idHex, immutableTarget, K, keysFromSeed, randomId, type DhtNode, type LookupResult, type NodeId } from '../src/dht/index.js';
import { seededRandom, type Random } from '../src/net/index.js';
import { buildNetwork, HOST, pick, pool, SEED_NODES } from './dht-network.js';

/*
 * bench:dht (BENCH.md, "dht: lookups in a large network"): N DHT nodes with
 * random ids, each on its own UDP socket on 127.0.0.1, all in this one
 * process and all running the real node code (KRPC codec, routing table,
 * iterative lookup, storage).
 *
 *   npm run bench:dht -- [--nodes 1000] [--lookups 200] [--mutable 50] [--seed 1]
 *                        [--join-batch 64] [--in-flight 16] [--no-refresh] [--max-seconds 300]
 *
 * Joining (bench/dht-network.ts, shared with bench:overlays): the first
 * SEED_NODES nodes join one by one, each through the ones before it. After
 * that nodes join in batches that run concurrently (a quarter of the network
 * size at most, and --join-batch), each node through one to three random
 * nodes already in the network, as a client joins through whatever nodes it
 * happens to know; nobody is a router that every node must go through. A
 * node joins as BEP 5 says: ping the nodes it knows, then look up its own
 * id. Then, unless --no-refresh, every node looks up its own id once more,
 * which is what a node's bucket refresh would do over its first minutes: the
 * nodes that joined early learn of the ones that came later near them.
 *
 * Then, --lookups times: a random node announces a random infohash with a
 * port of its own (BEP 5 announce_peer to the K closest), and another
 * random node runs get_peers for it; it succeeds when the announced
 * 127.0.0.1:port comes back. The same for immutable BEP 44 items (put by one
 * node, get by another; it succeeds when the value comes back) and
 * --mutable times for mutable items with a salt.
 *
 * Round trips are counted as the lookup counts them (src/dht/lookup.ts): a
 * node from the asker's own table is one round trip away, a node learned
 * from a round-trip-d answer is d + 1; `firstFoundAt` is the round trip of
 * the first answer that held the value. Loopback has no latency and no loss,
 * so milliseconds here measure this process's CPU, not a network: compare
 * round trips with the published figures, not times.
 *
 * The seed fixes the ids, the join order and every choice of node, key and
 * value; the interleaving of datagrams is up to the kernel and the event
 * loop, so two runs with one seed can differ in a query or two.
 */

const SUCCESS_TARGET = 1; // of get_peers lookups that find the announced peer
const ROUND_TRIPS_TARGET = 4; // median, at most

interface Config {
  readonly nodes: number;
  readonly lookups: number;
  readonly mutable: number;
  readonly seed: number;
  readonly joinBatch: number;
  readonly inFlight: number;
  readonly refresh: boolean;
  readonly maxSeconds: number;
}

function config(): Config {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      lookups: { type: 'string' },
      mutable: { type: 'string' },
      seed: { type: 'string' },
      'join-batch': { type: 'string' },
      'in-flight': { type: 'string' },
      'no-refresh': { type: 'boolean' },
      'max-seconds': { type: 'string' },
    },
  });
  const whole = (name: string, text: string | undefined, fallback: number, min: number): number => {
    const n = Number(text ?? fallback);
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be a whole number of at least ${min}`);
    return n;
  };
  const lookups = whole('lookups', values.lookups, 200, 1);
  return {
    nodes: whole('nodes', values.nodes, 1000, SEED_NODES + 2),
    lookups,
    mutable: whole('mutable', values.mutable, Math.ceil(lookups / 4), 0),
    seed: whole('seed', values.seed, 1, 0),
    joinBatch: whole('join-batch', values['join-batch'], 64, 1),
    inFlight: whole('in-flight', values['in-flight'], 16, 1),
    refresh: values['no-refresh'] !== true,
    maxSeconds: whole('max-seconds', values['max-seconds'], 300, 1),
  };
}

function fail(message: string): never {
  process.stderr.write(`bench:dht: ${message}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------
// Small helpers

/** Lower median. */
function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Nearest rank: the smallest value with at least `q` of the values at or below it. */
function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** A random index in [0, n) other than `not`. */
function pickOther(random: Random, n: number, not: number): number {
  const i = pick(random, n - 1);
  return i >= not ? i + 1 : i;
}

function bytes(random: Random, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => pick(random, 256));
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1)}%`;

// ---------------------------------------------------------------------------
// The network

/** How well the tables know the network: of each node's K true closest nodes, how many its table holds. */
function tableQuality(nodes: readonly DhtNode[], random: Random, sample: number): { sizes: number[]; closestKnown: number[] } {
  const sizes = nodes.map((n) => n.tableSize);
  const closestKnown: number[] = [];
  for (let s = 0; s < Math.min(sample, nodes.length); s++) {
    const n = nodes[pick(random, nodes.length)]!;
    const truth = nodes
      .filter((m) => m !== n)
      .map((m) => ({ m, d: xorKey(n.id, m.id) }))
      .sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0))
      .slice(0, K)
      .map((x) => idHex(x.m.id));
    const known = new Set(n.contacts().map((c) => idHex(c.id)));
    closestKnown.push(truth.filter((h) => known.has(h)).length);
  }
  return { sizes, closestKnown };
}

function xorKey(a: NodeId, b: NodeId): string {
  let s = '';
  for (let i = 0; i < 20; i++) s += (a[i]! ^ b[i]!).toString(16).padStart(2, '0');
  return s;
}

// ---------------------------------------------------------------------------
// The workload

interface Outcome {
  readonly found: boolean;
  /** Round trips until the value arrived; 0 when the reader held it itself; undefined when not found. */
  readonly roundTrips: number | undefined;
  readonly lookup: LookupResult;
  readonly ms: number;
  /** Nodes that accepted the announce or put. */
  readonly stored: number;
}

interface Kind {
  readonly name: string;
  readonly outcomes: Outcome[];
}

async function announces(cfg: Config, nodes: readonly DhtNode[], random: Random): Promise<Kind> {
  const tasks = Array.from({ length: cfg.lookups }, (_, i) => {
    const by = pick(random, nodes.length);
    return { by, reader: pickOther(random, nodes.length, by), infoHash: randomId(random), port: 10_000 + i };
  });
  const outcomes = await pool(tasks, cfg.inFlight, async (t) => {
    const a = await nodes[t.by]!.announce(t.infoHash, t.port);
    const t0 = performance.now();
    const r = await nodes[t.reader]!.getPeers(t.infoHash);
    const ms = performance.now() - t0;
    const found = r.peers.some((p) => p.host === HOST && p.port === t.port);
    return { found, roundTrips: found ? r.firstFoundAt : undefined, lookup: r.lookup, ms, stored: a.stored };
  });
  return { name: 'get_peers', outcomes };
}

async function immutables(cfg: Config, nodes: readonly DhtNode[], random: Random): Promise<Kind> {
  const tasks = Array.from({ length: cfg.lookups }, (_, i) => {
    const by = pick(random, nodes.length);
    return { by, reader: pickOther(random, nodes.length, by), value: encode(`peerkit bench:dht item ${i} ${idHex(bytes(random, 8))}`) };
  });
  const outcomes = await pool(tasks, cfg.inFlight, async (t) => {
    const put = await nodes[t.by]!.putImmutable(t.value);
    const t0 = performance.now();
    const r = await nodes[t.reader]!.getImmutable(immutableTarget(t.value));
    const ms = performance.now() - t0;
    const found = sameBytes(r.item, t.value);
    return { found, roundTrips: found ? (r.firstFoundAt ?? 0) : undefined, lookup: r.lookup, ms, stored: put.stored };
  });
  return { name: 'immutable get', outcomes };
}

async function mutables(cfg: Config, nodes: readonly DhtNode[], random: Random): Promise<Kind> {
  const tasks = Array.from({ length: cfg.mutable }, (_, i) => {
    const by = pick(random, nodes.length);
    return {
      by,
      reader: pickOther(random, nodes.length, by),
      keys: keysFromSeed(bytes(random, 32)),
      salt: new TextEncoder().encode(`bench-${i}`),
      value: encode(`peerkit bench:dht mutable ${i} ${idHex(bytes(random, 8))}`),
    };
  });
  const outcomes = await pool(tasks, cfg.inFlight, async (t) => {
    const put = await nodes[t.by]!.putMutable(t.keys, t.value, { salt: t.salt });
    const t0 = performance.now();
    const r = await nodes[t.reader]!.getMutable(t.keys.publicKey, t.salt);
    const ms = performance.now() - t0;
    const found = sameBytes(r.item?.v, t.value) && r.item?.seq === put.seq;
    return { found, roundTrips: found ? (r.firstFoundAt ?? 0) : undefined, lookup: r.lookup, ms, stored: put.stored };
  });
  return { name: 'mutable get', outcomes };
}

// ---------------------------------------------------------------------------
// The report

interface Summary {
  readonly ok: number;
  readonly total: number;
  readonly roundTrips: number[];
}

function summarize(kind: Kind): Summary {
  const o = kind.outcomes;
  return { ok: o.filter((x) => x.found).length, total: o.length, roundTrips: o.flatMap((x) => (x.roundTrips === undefined ? [] : [x.roundTrips])) };
}

function kindLine(kind: Kind): string {
  const s = summarize(kind);
  const o = kind.outcomes;
  const queries = o.map((x) => x.lookup.queries);
  const failures = o.reduce((n, x) => n + x.lookup.failures, 0);
  return (
    `${kind.name.padEnd(13)}  success ${String(s.ok).padStart(4)}/${s.total} (${pct(s.ok, s.total)})  ` +
    `round trips median ${median(s.roundTrips)} p95 ${quantile(s.roundTrips, 0.95)} max ${Math.max(...s.roundTrips)}  ` +
    `queries/lookup median ${median(queries)} p95 ${quantile(queries, 0.95)}  ` +
    `lookup ends at round trip median ${median(o.map((x) => x.lookup.rounds))}  ` +
    `failed queries ${failures}  ` +
    `time median ${median(o.map((x) => x.ms)).toFixed(1)} ms p95 ${quantile(o.map((x) => x.ms), 0.95).toFixed(1)} ms  ` +
    `stored on median ${median(o.map((x) => x.stored))} of ${K}`
  );
}

function histogram(kind: Kind): string {
  const s = summarize(kind);
  const max = Math.max(0, ...s.roundTrips);
  const rows: string[] = [];
  for (let h = Math.min(...s.roundTrips, 1); h <= max; h++) {
    const n = s.roundTrips.filter((x) => x === h).length;
    const label = h === 0 ? ' 0 (held by the reader)' : String(h).padStart(2);
    rows.push(`  ${label}  ${String(n).padStart(4)}  ${pct(n, s.total).padStart(6)}  ${'#'.repeat(Math.round((50 * n) / s.total))}`);
  }
  const missing = s.total - s.ok;
  if (missing > 0) rows.push(`  not found  ${String(missing).padStart(4)}  ${pct(missing, s.total).padStart(6)}`);
  return `${kind.name}: round trips until the value arrived\n${rows.join('\n')}\n`;
}

function target(name: string, value: string, want: string, met: boolean): string {
  return `dht: ${name} ${value} (target ${want})  ${met ? 'MET' : 'MISSED'}\n`;
}

interface Totals {
  sent: number;
  timeouts: number;
  dropped: number;
}

function totals(nodes: readonly DhtNode[]): Totals {
  const t = { sent: 0, timeouts: 0, dropped: 0 };
  for (const n of nodes) {
    const s = n.stats();
    t.sent += s.queriesSent;
    t.timeouts += s.timeouts;
    t.dropped += s.dropped;
  }
  return t;
}

async function main(): Promise<void> {
  const cfg = config();
  const start = performance.now();
  let current = 'starting';
  const phase = (name: string): void => void (current = name);
  // The whole run is bounded: a stuck lookup must end the bench, not hang it.
  setTimeout(() => fail(`gave up after ${cfg.maxSeconds} s, while ${current} (--max-seconds)`), cfg.maxSeconds * 1000).unref();

  const random = seededRandom(cfg.seed);
  process.stdout.write(
    `dht: ${cfg.nodes} nodes on ${HOST} (real UDP, one process), seed ${cfg.seed}; ${cfg.lookups} announces + get_peers, ` +
      `${cfg.lookups} immutable and ${cfg.mutable} mutable puts + gets, ${cfg.inFlight} at a time; K ${K}\n`,
  );

  const net = await buildNetwork(cfg, random, phase).catch((e: Error) => fail(e.message));
  const { nodes } = net;
  try {
    const afterSetup = totals(nodes);
    const q = tableQuality(nodes, random, 100);
    process.stdout.write(
      `setup: joined in ${seconds(net.joinMs)} (${Math.min(SEED_NODES, cfg.nodes)} one by one, then ${net.batches} concurrent batches of up to ${cfg.joinBatch}, ` +
        `each node through 1-3 random nodes already in; ${net.joinFailures} joins failed)` +
        `${cfg.refresh ? `, refresh pass (each node looks up its own id again) ${seconds(net.refreshMs)}` : ', no refresh pass'}; ` +
        `${afterSetup.sent} queries, ${afterSetup.timeouts} timeouts\n`,
    );
    process.stdout.write(
      `setup: routing tables min ${Math.min(...q.sizes)} median ${median(q.sizes)} max ${Math.max(...q.sizes)} nodes; ` +
        `of a node's ${K} closest nodes its table holds median ${median(q.closestKnown)} min ${Math.min(...q.closestKnown)} (${q.closestKnown.length} nodes sampled)\n`,
    );

    phase('announcing and looking up peers');
    const kinds = [await announces(cfg, nodes, random)];
    phase('putting and getting immutable items');
    kinds.push(await immutables(cfg, nodes, random));
    if (cfg.mutable > 0) {
      phase('putting and getting mutable items');
      kinds.push(await mutables(cfg, nodes, random));
    }
    const end = totals(nodes);

    for (const k of kinds) process.stdout.write(`${kindLine(k)}\n`);
    for (const k of kinds) process.stdout.write(histogram(k));
    process.stdout.write(
      `workload: ${end.sent - afterSetup.sent} queries (announces, puts and their lookups included), ` +
        `${end.timeouts - afterSetup.timeouts} timeouts, ${end.dropped - afterSetup.dropped} datagrams dropped\n`,
    );
    process.stdout.write(
      'anchors (BENCH.md): mainline DHT median lookups of over a minute (Crosby & Wallach 2007), ' +
        '100-200 ms after fixes (Jimenez et al. 2011); loopback here has no latency or loss, so compare round trips\n',
    );

    const peers = summarize(kinds[0]!);
    const items = kinds.slice(1).map(summarize);
    const itemOk = items.reduce((n, s) => n + s.ok, 0);
    const itemTotal = items.reduce((n, s) => n + s.total, 0);
    const itemTrips = items.flatMap((s) => s.roundTrips);
    process.stdout.write(target('get_peers success', pct(peers.ok, peers.total), '100%', peers.ok / peers.total >= SUCCESS_TARGET));
    process.stdout.write(target('get_peers median round trips', String(median(peers.roundTrips)), `<= ${ROUND_TRIPS_TARGET}`, median(peers.roundTrips) <= ROUND_TRIPS_TARGET));
    process.stdout.write(target('item get success', pct(itemOk, itemTotal), '100%', itemOk / itemTotal >= SUCCESS_TARGET));
    process.stdout.write(target('item get median round trips', String(median(itemTrips)), `<= ${ROUND_TRIPS_TARGET}`, median(itemTrips) <= ROUND_TRIPS_TARGET));
    process.stdout.write(`dht: run took ${seconds(performance.now() - start)}\n`);
  } finally {
    for (const n of nodes) n.close();
  }
}

await main();
