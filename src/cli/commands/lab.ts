import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_NEIGHBOURS, DEFAULT_PIECE_LENGTH, distributionChart, distributionCsv, distributionTable, runDistribution } from '../../lab/index.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, parseSize } from '../format.js';
import type { Command } from '../main.js';

const usage = `Usage: peerkit lab distribution [options]

The self-scalability experiment (Kurose-Ross 2.5), on the simulated network:
for each N, the time a server needs to give a file of F bytes to N peers,
client-server (the server sends every copy) and P2P (peerkit's BitTorrent
engine: the server seeds, the N peers trade pieces), against the bounds
  client-server  max(N·F/u_s, F/d)
  P2P            max(F/u_s, F/d, N·F/(u_s + N·u))
Deterministic: the same seed gives the same numbers. Prints a table (progress
on stderr) and writes <out>/distribution.csv and <out>/distribution.svg.

Options:
      --peers <list>        values of N, comma-separated (default: 1,2,5,10,20,50,100)
      --size <size>         F, e.g. 32MiB, 4M, 1048576 (default: 32MiB)
      --server-up <rate>    u_s, bytes/s: 4MB/s, 4MB or 4000000; MB = 10^6,
                            MiB = 2^20 (default: 4MB/s)
      --peer-up <rate>      u, each peer's upload (default: 2MB/s)
      --peer-down <rate>    d, each peer's download (default: unlimited)
      --piece-size <size>   piece length of the P2P torrent (default: 128KiB)
      --neighbours <n>      other peers each P2P peer is given besides the
                            server, as a tracker answers (default: 15)
      --mode <mode>         client-server, p2p or both (default: both)
      --seed <n>            random seed (default: 1)
      --json                print the rows as JSON on stdout instead of the table
      --out <dir>           folder for the CSV and the SVG (default: lab-out)`;

export const labCommand: Command = {
  name: 'lab',
  summary: 'experiments on the simulated network (distribution: client-server against P2P)',
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
        json: { type: 'boolean' },
        out: { type: 'string' },
      },
      usage,
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    const [experiment, ...extra] = positionals;
    if (experiment === undefined) throw new UsageError('which experiment? (peerkit lab distribution)');
    if (experiment !== 'distribution') throw new UsageError(`unknown experiment ${JSON.stringify(experiment)} (there is: distribution)`);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);

    const peers = parsePeers(values.peers ?? '1,2,5,10,20,50,100');
    const size = values.size === undefined ? 32 * 1024 * 1024 : parseSize(values.size);
    if (size === undefined || size < 1) throw new UsageError(`--size: not a size: ${JSON.stringify(values.size)} (e.g. 32MiB)`);
    const serverUp = parseRate(values['server-up'] ?? '4MB/s', '--server-up');
    const peerUp = parseRate(values['peer-up'] ?? '2MB/s', '--peer-up');
    const peerDown = values['peer-down'] === undefined ? undefined : parseRate(values['peer-down'], '--peer-down');
    const pieceLength = values['piece-size'] === undefined ? DEFAULT_PIECE_LENGTH : parseSize(values['piece-size']);
    if (pieceLength === undefined || pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) throw new UsageError('--piece-size must be a power of two of at least 16KiB');
    const neighbours = values.neighbours === undefined ? DEFAULT_NEIGHBOURS : Number(values.neighbours);
    if (!Number.isSafeInteger(neighbours) || neighbours < 0) throw new UsageError('--neighbours must be a whole number >= 0');
    const mode = values.mode ?? 'both';
    if (mode !== 'both' && mode !== 'client-server' && mode !== 'p2p') throw new UsageError('--mode must be client-server, p2p or both');
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError('--seed must be a whole number >= 0');
    const out = values.out ?? 'lab-out';

    process.stderr.write(
      `distribution of ${formatBytes(size)}, u_s = ${rate(serverUp)}, u = ${rate(peerUp)}, d = ${peerDown === undefined ? 'unlimited' : rate(peerDown)}, pieces of ${formatBytes(pieceLength)}, ${neighbours} neighbours, seed ${seed}\n`,
    );
    const wall = performance.now();
    const rows = await runDistribution({
      peers,
      size,
      serverUp,
      peerUp,
      peerDown,
      seed,
      pieceLength,
      neighbours,
      modes: mode === 'both' ? ['client-server', 'p2p'] : [mode],
      onRow: (r, ms) => process.stderr.write(`  ${r.mode} N = ${r.n}: ${r.seconds.toFixed(2)} s (bound ${r.bound.toFixed(2)} s, ratio ${r.ratio.toFixed(3)}); ${(ms / 1000).toFixed(1)} s of wall time\n`),
    });
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'distribution.csv'), distributionCsv(rows));
    await writeFile(join(out, 'distribution.svg'), distributionChart(rows));
    if (values.json === true) process.stdout.write(`${JSON.stringify(rows)}\n`);
    else process.stdout.write(`${distributionTable(rows)}\n`);
    process.stderr.write(`wrote ${join(out, 'distribution.csv')} and ${join(out, 'distribution.svg')} (${((performance.now() - wall) / 1000).toFixed(1)} s)\n`);
    return 0;
  },
};

function parsePeers(s: string): number[] {
  const list = s.split(',').map((v) => v.trim());
  const out = list.map((v) => (/^\d+$/.test(v) ? Number(v) : NaN));
  if (out.length === 0 || out.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 10_000)) throw new UsageError(`--peers: expected whole numbers from 1 to 10000, comma-separated, got ${JSON.stringify(s)}`);
  return out;
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
