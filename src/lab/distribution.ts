import { createHash } from 'node:crypto';
import { encode } from '../bencode/index.js';
import { parseTorrent, type Metainfo } from '../metainfo/index.js';
import { seededRandom } from '../net/index.js';
import { clientServerBound, p2pBound, type DistributionParams } from './bounds.js';
import { clientServerRealRun, clientServerSimRun } from './client-server.js';
import { Swarm } from './swarm.js';

/*
 * The self-scalability experiment (Kurose-Ross, section 2.5), measured on the
 * simulated network (src/net/sim) with peerkit's own code: for each N,
 *
 *   client-server  a server node sends each of N peers a whole copy of F
 *                  bytes over its own stream connection (back-pressure
 *                  respected, the peers only download); the time is when the
 *                  last peer holds F bytes;
 *   p2p            the real BitTorrent engine: the server is the first
 *                  seeder (a Session), N leechers (one Session each, on their
 *                  own node) are each given the seeder's address and those
 *                  of 15 other leechers chosen at random, as a tracker would
 *                  answer (see `neighbours`), all start at time 0; the time
 *                  is when the last leecher completes.
 *
 * Every node has the access link of the model: the server uploads at u_s,
 * each peer at u and downloads at d (unlimited by default); only access
 * links are bottlenecks, one-way latency 10 ms. Everything random comes from
 * `seed`: the file's bytes, each Session's own random source (peer ids,
 * piece picking, optimistic unchoke), so a seed gives the same numbers.
 * The server seeds in super-seed mode (BEP 16), as an initial seeder should.
 *
 * With network 'real' the same runs happen over TCP on 127.0.0.1 in real
 * time (swarm.ts, client-server.ts): rates are then held by token buckets,
 * not by links, latency is loopback's, and the numbers vary a little from
 * run to run.
 *
 * The leechers keep no copy of the data (SharedStore): the engine verifies
 * each piece's SHA-1 before it writes it, so a written piece is the original
 * one, and serving it from the one original buffer costs no memory: 100
 * leechers of 32 MiB would otherwise hold 3.2 GiB.
 */

export type DistributionMode = 'client-server' | 'p2p';

export interface DistributionRow {
  readonly mode: DistributionMode;
  readonly n: number;
  /** Measured (virtual) seconds until the last peer had the whole file. */
  readonly seconds: number;
  /** The Kurose-Ross lower bound for this mode and N, seconds. */
  readonly bound: number;
  /** seconds / bound. */
  readonly ratio: number;
}

export interface DistributionOptions {
  /** The values of N. */
  readonly peers: readonly number[];
  /** F, bytes. */
  readonly size: number;
  /** u_s, bytes/s. */
  readonly serverUp: number;
  /** u, each peer's upload, bytes/s. */
  readonly peerUp: number;
  /** d, each peer's download, bytes/s. @default unlimited */
  readonly peerDown?: number | undefined;
  /** @default 1 */
  readonly seed?: number;
  /** The lab torrent's piece length. @default 128 KiB */
  readonly pieceLength?: number;
  /**
   * How many other leechers each leecher is given besides the seeder (a
   * tracker's answer). @default 15. Giving all N - 1 fills each leecher's 50
   * connection slots with other leechers dialling in at time 0, so nearly all
   * of them refuse the seeder's connection: at N = 100 one leecher kept it,
   * the seeder sent one copy and went idle, and P2P took 48.8 s, not 23.8 s.
   */
  readonly neighbours?: number;
  /** Whether the server seeds in super-seed mode (BEP 16), as an initial seeder should. @default true */
  readonly superSeed?: boolean;
  /** One-way latency between nodes, ms (simulated network only). @default 10 */
  readonly latencyMs?: number;
  /**
   * 'sim': the simulated network on a virtual clock (deterministic); 'real': TCP on 127.0.0.1 in real time, each
   * node's upload held to its rate by the engine's limiter. @default 'sim'
   */
  readonly network?: 'sim' | 'real';
  /** @default both, client-server first */
  readonly modes?: readonly DistributionMode[];
  /** Called as each run finishes, with the wall time it took (ms). */
  readonly onRow?: (row: DistributionRow, wallMs: number) => void;
}

export const DEFAULT_PIECE_LENGTH = 128 * 1024;
export const DEFAULT_NEIGHBOURS = 15;

/** Every (mode, N) run, in the order of `modes` then `peers`. */
export async function runDistribution(o: DistributionOptions): Promise<DistributionRow[]> {
  const modes = o.modes ?? ['client-server', 'p2p'];
  const seed = o.seed ?? 1;
  const params: DistributionParams = { size: o.size, serverUp: o.serverUp, peerUp: o.peerUp, ...(o.peerDown !== undefined && { peerDown: o.peerDown }) };
  const data = modes.includes('p2p') ? fileBytes(o.size, seed) : undefined;
  const metainfo = data !== undefined ? labTorrent(data, o.pieceLength ?? DEFAULT_PIECE_LENGTH) : undefined;
  const rows: DistributionRow[] = [];
  for (const mode of modes) {
    for (const n of o.peers) {
      const wall = performance.now();
      const seconds = mode === 'client-server' ? await clientServerRun(n, o, seed) : await p2pRun(n, o, seed, data!, metainfo!);
      const bound = mode === 'client-server' ? clientServerBound(n, params) : p2pBound(n, params);
      const row: DistributionRow = { mode, n, seconds, bound, ratio: seconds / bound };
      rows.push(row);
      o.onRow?.(row, performance.now() - wall);
    }
  }
  return rows;
}

/** A run that has not finished after this much time past its bound has failed. */
const SLACK_MS = 600_000;

/** Client-server for N peers: seconds until the last peer has received F bytes. */
export function clientServerRun(n: number, o: DistributionOptions, seed: number): Promise<number> {
  return o.network === 'real' ? clientServerRealRun(n, o) : clientServerSimRun(n, o, seed);
}

/** P2P for N leechers with the real engine: seconds until the last leecher completes. */
export async function p2pRun(n: number, o: DistributionOptions, seed: number, data: Uint8Array, m: Metainfo): Promise<number> {
  const swarm = new Swarm({
    network: o.network ?? 'sim',
    metainfo: m,
    data,
    n,
    serverUp: o.serverUp,
    peerUp: o.peerUp,
    peerDown: o.peerDown,
    seed,
    neighbours: o.neighbours ?? DEFAULT_NEIGHBOURS,
    latencyMs: o.latencyMs,
    seeder: { superSeed: o.superSeed ?? true },
  });
  await swarm.launch();
  const bound = p2pBound(n, { size: o.size, serverUp: o.serverUp, peerUp: o.peerUp, ...(o.peerDown !== undefined && { peerDown: o.peerDown }) });
  const complete = await swarm.runToEnd(bound * 1000 * 4 + SLACK_MS);
  const last = Math.max(...swarm.records.map((r) => r.doneAt)) / 1000;
  await swarm.close();
  if (!complete) throw new Error(`p2p, N = ${n}: only ${swarm.completed} of ${n} leechers complete after ${(swarm.now() / 1000).toFixed(1)} s`);
  return last;
}

/** F deterministic bytes for a seed (a xorshift32 stream seeded from seededRandom). */
export function fileBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >> 2);
  let x = Math.floor(seededRandom(seed)() * 0xffffffff) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = i & 255;
  return out;
}

/** The lab's torrent for `data`: one file, `pieceLength`, no trackers. */
export function labTorrent(data: Uint8Array, pieceLength: number): Metainfo {
  const hashes: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceLength) hashes.push(createHash('sha1').update(data.subarray(i, i + pieceLength)).digest());
  const info = { length: data.length, name: 'distribution.bin', 'piece length': pieceLength, pieces: Buffer.concat(hashes) };
  return parseTorrent(encode({ info }));
}

