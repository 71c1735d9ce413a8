import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_NEIGHBOURS,
  DEFAULT_PIECE_LENGTH,
  distributionChart,
  distributionCsv,
  distributionTable,
  freeRiderChart,
  freeRiderCsv,
  freeRiderTable,
  optimisticChart,
  optimisticCsv,
  optimisticTable,
  pieceOrderChart,
  pieceOrderCsv,
  pieceOrderTable,
  runDistribution,
  runFreeRider,
  runOptimistic,
  runPieceOrders,
  type PolicyOptions,
} from '../../lab/index.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, parseSize } from '../format.js';
import type { Command } from '../main.js';

const usage = `Usage: peerkit lab <experiment> [options]

Experiments with peerkit's own BitTorrent engine on a simulated network
(virtual clock: minutes of swarm time in seconds; the same seed gives the
same numbers). Each prints a table (progress on stderr; --json for the rows
as JSON) and writes a CSV and an SVG chart to --out (default: lab-out).

  distribution  the time a server needs to give a file to N peers,
                client-server (the server sends every copy) against P2P
                (the N peers trade pieces), next to the Kurose-Ross bounds
                  client-server  max(N·F/u_s, F/d)
                  P2P            max(F/u_s, F/d, N·F/(u_s + N·u))
  pieces        rarest first against random and sequential piece selection
  optimistic    choking with and without the optimistic unchoke: how long
                a newcomer waits for its first piece
  free-rider    peers that upload nothing among peers that reciprocate:
                their download rates

Options of every experiment:
      --size <size>         F, e.g. 32MiB, 4M, 1048576 (default: 32MiB)
      --server-up <rate>    u_s, bytes/s: 4MB/s, 4MB or 4000000; MB = 10^6,
                            MiB = 2^20 (distribution: 4MB/s; others: 400kB/s)
      --peer-up <rate>      u, each peer's upload (2MB/s; others: 200kB/s)
      --peer-down <rate>    d, each peer's download (default: unlimited)
      --piece-size <size>   piece length of the torrent (default: 128KiB)
      --neighbours <n>      other peers each peer is given besides the
                            server, as a tracker answers (default: 15)
      --plain-seed          the server seeds plainly, not super-seeding
                            (BEP 16, the default for an initial seeder)
      --json                print the results as JSON on stdout, not a table
      --out <dir>           folder for the CSV and the SVG (default: lab-out)

distribution:
      --peers <list>        values of N, comma-separated (default:
                            1,2,5,10,20,50,100; with --real 1,2,5,10)
      --mode <mode>         client-server, p2p or both (default: both)
      --seed <n>            random seed (default: 1)
      --real                run over TCP on 127.0.0.1 in real time, every
                            node's upload held to its rate by a token bucket
                            (takes as long as it says: N = 10 client-server
                            is 84 s at the defaults)
pieces, optimistic, free-rider:
      --peers <n>           leechers (default: 30; free-rider: 20)
      --seeds <list>        one run per seed, averaged (default: 1,2,3)
pieces:
      --server-leaves       the server leaves once every piece is out
optimistic:
      --newcomers <n>       peers that join the busy swarm later (default: 5),
                            the first at 30 s, then one every 20 s
free-rider:
      --riders <n>          how many of the peers upload nothing (default: 2)`;

type Experiment = 'distribution' | 'pieces' | 'optimistic' | 'free-rider';
const EXPERIMENTS: readonly Experiment[] = ['distribution', 'pieces', 'optimistic', 'free-rider'];

export const labCommand: Command = {
  name: 'lab',
  summary: 'experiments on the simulated network: distribution (client-server against P2P), pieces, optimistic, free-rider',
  usage,
  async run(args) {
    const parsed = parseCommandLine(
      args,
      {
        peers: { type: 'string' },
        size: { type: 'string' },
        'server-up': { type: 'string' },
        'peer-up': { type: 'string' },
        'peer-down': { type: 'string' },
        'piece-size': { type: 'string' },
        neighbours: { type: 'string' },
        mode: { type: 'string' },
        seed: { type: 'string' },
        seeds: { type: 'string' },
        real: { type: 'boolean' },
        'server-leaves': { type: 'boolean' },
        'plain-seed': { type: 'boolean' },
        newcomers: { type: 'string' },
        riders: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
      },
      usage,
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    const [name, ...extra] = positionals;
    if (name === undefined) throw new UsageError(`which experiment? (${EXPERIMENTS.join(', ')})`);
    if (!EXPERIMENTS.includes(name as Experiment)) throw new UsageError(`unknown experiment ${JSON.stringify(name)} (there are: ${EXPERIMENTS.join(', ')})`);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const experiment = name as Experiment;
    const only = (flag: string, ...where: Experiment[]): void => {
      if ((values as Record<string, unknown>)[flag] !== undefined && !where.includes(experiment)) throw new UsageError(`--${flag} is not an option of ${experiment}`);
    };
    only('mode', 'distribution');
    only('seed', 'distribution');
    only('real', 'distribution');
    only('seeds', 'pieces', 'optimistic', 'free-rider');
    only('server-leaves', 'pieces');
    only('newcomers', 'optimistic');
    only('riders', 'free-rider');

    const slow = experiment !== 'distribution';
    const size = values.size === undefined ? 32 * 1024 * 1024 : parseSize(values.size);
    if (size === undefined || size < 1) throw new UsageError(`--size: not a size: ${JSON.stringify(values.size)} (e.g. 32MiB)`);
    const serverUp = parseRate(values['server-up'] ?? (slow ? '400kB/s' : '4MB/s'), '--server-up');
    const peerUp = parseRate(values['peer-up'] ?? (slow ? '200kB/s' : '2MB/s'), '--peer-up');
    const peerDown = values['peer-down'] === undefined ? undefined : parseRate(values['peer-down'], '--peer-down');
    const pieceLength = values['piece-size'] === undefined ? DEFAULT_PIECE_LENGTH : parseSize(values['piece-size']);
    if (pieceLength === undefined || pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) throw new UsageError('--piece-size must be a power of two of at least 16KiB');
    const neighbours = wholeNumber(values.neighbours, DEFAULT_NEIGHBOURS, '--neighbours', 0);
    const out = values.out ?? 'lab-out';
    const json = values.json === true;
    const wall = performance.now();
    const superSeed = values['plain-seed'] !== true;
    const links = `F = ${formatBytes(size)}, u_s = ${rate(serverUp)}, u = ${rate(peerUp)}, d = ${peerDown === undefined ? 'unlimited' : rate(peerDown)}, pieces of ${formatBytes(pieceLength)}, ${neighbours} neighbours, ${superSeed ? 'super-seeding' : 'plain'} server`;
    const write = async (files: Record<string, string>): Promise<void> => {
      await mkdir(out, { recursive: true });
      for (const [file, text] of Object.entries(files)) await writeFile(join(out, file), text);
      process.stderr.write(`wrote ${Object.keys(files).map((f) => join(out, f)).join(', ')} (${((performance.now() - wall) / 1000).toFixed(1)} s)\n`);
    };
    const print = (table: string, result: unknown): void => void process.stdout.write(`${json ? JSON.stringify(result) : table}\n`);

    if (experiment === 'distribution') {
      const real = values.real === true;
      const peers = parsePeers(values.peers ?? (real ? '1,2,5,10' : '1,2,5,10,20,50,100'));
      const mode = values.mode ?? 'both';
      if (mode !== 'both' && mode !== 'client-server' && mode !== 'p2p') throw new UsageError('--mode must be client-server, p2p or both');
      const seed = wholeNumber(values.seed, 1, '--seed', 0);
      process.stderr.write(`distribution of ${links}, seed ${seed}, ${real ? 'TCP on 127.0.0.1 in real time' : 'simulated network'}\n`);
      const rows = await runDistribution({
        peers,
        size,
        serverUp,
        peerUp,
        peerDown,
        seed,
        pieceLength,
        neighbours,
        superSeed,
        network: real ? 'real' : 'sim',
        modes: mode === 'both' ? ['client-server', 'p2p'] : [mode],
        onRow: (r, ms) => process.stderr.write(`  ${r.mode} N = ${r.n}: ${r.seconds.toFixed(2)} s (bound ${r.bound.toFixed(2)} s, ratio ${r.ratio.toFixed(3)}); ${(ms / 1000).toFixed(1)} s of wall time\n`),
      });
      print(distributionTable(rows), rows);
      await write({ 'distribution.csv': distributionCsv(rows), 'distribution.svg': distributionChart(rows) });
      return 0;
    }

    const seeds = parseList(values.seeds ?? '1,2,3', '--seeds', 0);
    const peersDefault = experiment === 'free-rider' ? 20 : 30;
    const peers = wholeNumber(values.peers, peersDefault, '--peers', 2);
    const newcomers = wholeNumber(values.newcomers, 5, '--newcomers', 1);
    const riders = wholeNumber(values.riders, 2, '--riders', 1);
    if (experiment === 'free-rider' && riders >= peers) throw new UsageError(`--riders must be fewer than --peers (${peers})`);
    const o: PolicyOptions = {
      peers,
      size,
      serverUp,
      peerUp,
      peerDown,
      seeds,
      pieceLength,
      neighbours,
      superSeed,
      onRun: (label, seed, ms) => process.stderr.write(`  ${label}, seed ${seed}: ${(ms / 1000).toFixed(1)} s of wall time\n`),
    };
    process.stderr.write(`${experiment}: ${peers} leechers, ${links}, seeds ${seeds.join(',')}, simulated network\n`);
    if (experiment === 'pieces') {
      const r = await runPieceOrders({ ...o, serverLeaves: values['server-leaves'] === true });
      print(pieceOrderTable(r), r);
      const files = pieceOrderCsv(r);
      await write({ 'pieces.csv': files.summary, 'pieces-rarest.csv': files.rarest, 'pieces.svg': pieceOrderChart(r) });
    } else if (experiment === 'optimistic') {
      const r = await runOptimistic({ ...o, newcomers });
      print(optimisticTable(r), r);
      await write({ 'optimistic.csv': optimisticCsv(r), 'optimistic.svg': optimisticChart(r) });
    } else {
      const rows = await runFreeRider({ ...o, riders });
      print(freeRiderTable(rows), rows);
      await write({ 'free-rider.csv': freeRiderCsv(rows), 'free-rider.svg': freeRiderChart(rows) });
    }
    return 0;
  },
};

function wholeNumber(s: string | undefined, fallback: number, flag: string, min: number): number {
  if (s === undefined) return fallback;
  const v = /^\d+$/.test(s.trim()) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${flag} must be a whole number >= ${min}, got ${JSON.stringify(s)}`);
  return v;
}

function parseList(s: string, flag: string, min: number): number[] {
  const out = s.split(',').map((v) => (/^\d+$/.test(v.trim()) ? Number(v) : NaN));
  if (out.length === 0 || out.some((n) => !Number.isSafeInteger(n) || n < min || n > 10_000)) throw new UsageError(`${flag}: expected whole numbers from ${min} to 10000, comma-separated, got ${JSON.stringify(s)}`);
  return out;
}

function parsePeers(s: string): number[] {
  return parseList(s, '--peers', 1);
}

/** A rate in bytes/s: `4000000`, `4MB`, `4MB/s`, `500kB/s`, `1MiB/s` (k, M, G: powers of 10; Ki, Mi, Gi: of 2). */
export function parseRate(s: string, flag = 'rate'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmg])(i)?)?(?:b)?(?:\/s|ps)?\s*$/i.exec(s);
  const v = m === null ? NaN : Number(m[1]) * (m[2] === undefined ? 1 : (m[3] !== undefined ? 1024 : 1000) ** (' kmg'.indexOf(m[2].toLowerCase())));
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError(`${flag}: not a rate: ${JSON.stringify(s)} (e.g. 4MB/s, 4MB or 4000000 bytes/s)`);
  return v;
}

function rate(v: number): string {
  return v >= 1e6 ? `${v / 1e6} MB/s` : v >= 1e3 ? `${v / 1e3} kB/s` : `${v} B/s`;
}
