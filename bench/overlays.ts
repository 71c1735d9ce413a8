import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Row, ScenarioContext } from './overlays/common.js';
import { runDht } from './overlays/dht.js';
import { runDirectory } from './overlays/directory.js';
import { DEFAULT_FLOOD_TARGET, runFlood } from './overlays/flood.js';
import { makePopulation, MAX_NODES } from './overlays/population.js';
import { charts, table, verdicts } from './overlays/report.js';
import { DEFAULT_SUPERPEER_LINKS, runSuperpeer } from './overlays/superpeer.js';

/*
 * bench:overlays (BENCH.md, "overlays: the cost of a search"): the same
 * file population on the same number of nodes, searched through the
 * central directory, flooding (TTL 1 to 7), super-peers and the Kademlia
 * DHT, each on real sockets on 127.0.0.1 in this one process.
 *
 *   npm run bench:overlays -- [--nodes 200] [--files 100] [--queries 200] [--seed 1]
 *                             [--top-copies nodes/5] [--flood-target 2] [--superpeer-links 3] [--out bench-out]
 *                             [--only directory,flood,superpeer,dht] [--max-seconds 600]
 *
 * For each configuration: success rate, messages per query, hops to the
 * first good answer (median and max), and the load on the busiest node
 * (messages it received per query); for flooding also floodCost's count of
 * Query messages for the same graph and for how many queries it was exact.
 * Then the verdicts: flooding's Query messages equal floodCost's; super-peers
 * cut messages per query by at least 10x against flooding at the smallest
 * TTL that finds at least as much (equal success).
 *
 * The population (bench/overlays/population.ts) is fixed by the seed; each
 * overlay's own random choices are seeded from it too. Loopback has no
 * latency: times measure this process's CPU; hops are the latency to compare.
 *
 * Writes <out>/overlays.svg (messages per query, log scale, and success rate)
 * and <out>/overlays.json (the rows).
 */

type Overlay = 'directory' | 'flood' | 'superpeer' | 'dht';
const OVERLAYS: readonly Overlay[] = ['directory', 'flood', 'superpeer', 'dht'];

interface Config {
  readonly nodes: number;
  readonly files: number;
  readonly queries: number;
  readonly seed: number;
  readonly topCopies: number | undefined;
  readonly floodTarget: number;
  readonly superpeerLinks: number;
  readonly out: string;
  readonly only: readonly Overlay[];
  readonly maxSeconds: number;
}

function fail(message: string): never {
  process.stderr.write(`bench:overlays: ${message}\n`);
  process.exit(1);
}

function config(): Config {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      files: { type: 'string' },
      queries: { type: 'string' },
      seed: { type: 'string' },
      'top-copies': { type: 'string' },
      'flood-target': { type: 'string' },
      'superpeer-links': { type: 'string' },
      out: { type: 'string' },
      only: { type: 'string' },
      'max-seconds': { type: 'string' },
    },
  });
  const whole = (name: string, text: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const n = Number(text ?? fallback);
    if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const only = (values.only ?? OVERLAYS.join(',')).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const o of only) if (!OVERLAYS.includes(o as Overlay)) fail(`--only takes ${OVERLAYS.join(',')}; "${o}" is none of them`);
  return {
    nodes: whole('nodes', values.nodes, 200, 10, MAX_NODES),
    files: whole('files', values.files, 100, 1),
    queries: whole('queries', values.queries, 200, 1),
    seed: whole('seed', values.seed, 1, 0),
    topCopies: values['top-copies'] === undefined ? undefined : whole('top-copies', values['top-copies'], 1, 1),
    floodTarget: whole('flood-target', values['flood-target'], DEFAULT_FLOOD_TARGET, 1, 64),
    superpeerLinks: whole('superpeer-links', values['superpeer-links'], DEFAULT_SUPERPEER_LINKS, 1, 64),
    out: values.out ?? 'bench-out',
    only: OVERLAYS.filter((o) => only.includes(o)),
    maxSeconds: whole('max-seconds', values['max-seconds'], 600, 1),
  };
}

const SCENARIOS: Record<Overlay, (ctx: ScenarioContext) => Promise<Row[]>> = {
  directory: runDirectory,
  flood: runFlood,
  superpeer: runSuperpeer,
  dht: runDht,
};

async function main(): Promise<void> {
  const cfg = config();
  const start = performance.now();
  let current = 'starting';
  // The whole run is bounded: a stuck search must end the bench, not hang it.
  setTimeout(() => fail(`gave up after ${cfg.maxSeconds} s, while ${current} (--max-seconds)`), cfg.maxSeconds * 1000).unref();

  const pop = makePopulation({ nodes: cfg.nodes, files: cfg.files, queries: cfg.queries, seed: cfg.seed, ...(cfg.topCopies !== undefined && { topCopies: cfg.topCopies }) });
  const hashQueries = pop.queries.filter((q) => q.kind === 'hash').length;
  const top = pop.files.slice(0, 3).map((f) => f.holders.length);
  const single = pop.files.filter((f) => f.holders.length === 1).length;
  process.stdout.write(
    `overlays: ${cfg.nodes} nodes on 127.0.0.1 (real TCP and UDP, one process), seed ${cfg.seed}; ${cfg.files} files, ${pop.copies} copies ` +
      `(rank i has max(1, round(${pop.topCopies}/i)): ${top.join(', ')}, ... ${single} files on one node only); ` +
      `${cfg.queries} queries (${hashQueries} by hash, ${cfg.queries - hashQueries} by keyword) for files drawn uniformly, each from a node without the file\n`,
  );

  const ctx: ScenarioContext = {
    pop,
    seed: cfg.seed,
    floodTarget: cfg.floodTarget,
    superpeerLinks: cfg.superpeerLinks,
    phase: (name) => void (current = name),
    log: (line) => void process.stdout.write(`${line}\n`),
  };
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const overlay of cfg.only) {
    const run = SCENARIOS[overlay];
    const t = performance.now();
    try {
      rows.push(...(await run(ctx)));
      process.stdout.write(`overlays: ${overlay} done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    } catch (e) {
      skipped.push(overlay);
      process.stdout.write(`overlays: ${overlay} failed while ${current}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }

  process.stdout.write(`\n${table(rows)}\n`);
  for (const r of rows) for (const note of r.notes) process.stdout.write(`  ${r.name}: ${note}\n`);
  process.stdout.write(
    'messages/query: overlay messages sent by all nodes during the query phase (queries, answers, relays; the DHT: KRPC queries and replies) per query asked; ' +
      'busiest/query: the most messages one node received, per query; hops: to the first good answer (the DHT: get_peers round trips)\n',
  );
  const lines = verdicts(rows);
  for (const l of lines) process.stdout.write(`${l}\n`);

  const out = resolve(cfg.out);
  mkdirSync(out, { recursive: true });
  const subtitle = `${cfg.nodes} nodes, ${cfg.files} files, ${cfg.queries} queries, seed ${cfg.seed}`;
  writeFileSync(join(out, 'overlays.svg'), charts(rows, subtitle));
  const json = {
    bench: 'overlays',
    config: { nodes: cfg.nodes, files: cfg.files, queries: cfg.queries, seed: cfg.seed, topCopies: pop.topCopies, floodTarget: cfg.floodTarget, superpeerLinks: cfg.superpeerLinks, only: cfg.only },
    population: { copies: pop.copies, hashQueries, keywordQueries: cfg.queries - hashQueries },
    rows,
    skipped,
    verdicts: lines,
    seconds: (performance.now() - start) / 1000,
  };
  writeFileSync(join(out, 'overlays.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`overlays: wrote ${join(out, 'overlays.svg')} and ${join(out, 'overlays.json')}\n`);
  process.stdout.write(`overlays: run took ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
}

await main();
