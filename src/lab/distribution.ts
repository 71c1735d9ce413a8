import { createHash } from 'node:crypto';
import { encode } from '../bencode/index.js';
import { Session, type Torrent } from '../engine/index.js';
import { parseTorrent, type FileLayout, type Metainfo } from '../metainfo/index.js';
import { seededRandom, SimClock, SimNetwork, type StreamConnection } from '../net/index.js';
import { StorageError, type PieceStore } from '../storage/index.js';
import { clientServerBound, p2pBound, type DistributionParams } from './bounds.js';

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
  /** One-way latency between nodes, ms. @default 10 */
  readonly latencyMs?: number;
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

const SERVER = '10.0.0.1';
const PORT = 6881;
/** Peer i (0-based) of a run: 10.1.x.y, room for 65,534 peers. */
const peerHost = (i: number): string => `10.1.${(i + 1) >> 8}.${(i + 1) & 255}`;
/** A run that has not finished after this much virtual time past its bound has failed. */
const SLACK_MS = 600_000;

/** Client-server for N peers: seconds until the last peer has received F bytes. */
export async function clientServerRun(n: number, o: DistributionOptions, seed: number): Promise<number> {
  const clock = new SimClock();
  const net = new SimNetwork({ clock, seed, ...(o.latencyMs !== undefined && { latencyMs: o.latencyMs }) });
  const server = net.addNode(SERVER, { up: o.serverUp, down: o.peerDown });
  const chunk = new Uint8Array(64 * 1024); // never modified, so every write may share it
  const conns: StreamConnection[] = [];
  const listener = await server.transport.listen(SERVER, PORT, (conn) => {
    conns.push(conn);
    let sent = 0;
    const pump = (): void => {
      while (sent < o.size) {
        const len = Math.min(chunk.length, o.size - sent);
        sent += len;
        if (!conn.write(len === chunk.length ? chunk : chunk.subarray(0, len))) return; // onDrain resumes
      }
      conn.end();
    };
    conn.onDrain(pump);
    pump();
  });
  const doneAt: number[] = [];
  for (let i = 0; i < n; i++) {
    const node = net.addNode(peerHost(i), { up: o.peerUp, down: o.peerDown });
    void node.transport.connect({ host: SERVER, port: PORT }).then((conn) => {
      conns.push(conn);
      let got = 0;
      conn.onData((c) => {
        got += c.length;
        if (got >= o.size && doneAt.length < n && got - c.length < o.size) doneAt.push(clock.now());
      });
    });
  }
  const bound = clientServerBound(n, { size: o.size, serverUp: o.serverUp, peerUp: o.peerUp, ...(o.peerDown !== undefined && { peerDown: o.peerDown }) });
  await clock.run({ until: () => doneAt.length === n, maxTime: bound * 1000 * 2 + SLACK_MS });
  listener.close();
  for (const c of conns) c.destroy();
  if (doneAt.length < n) throw new Error(`client-server, N = ${n}: only ${doneAt.length} peers had the file after ${clock.now() / 1000} s`);
  return Math.max(...doneAt) / 1000;
}

/** P2P for N leechers with the real engine: seconds until the last leecher completes. */
export async function p2pRun(n: number, o: DistributionOptions, seed: number, data: Uint8Array, m: Metainfo): Promise<number> {
  const clock = new SimClock();
  const net = new SimNetwork({ clock, seed, ...(o.latencyMs !== undefined && { latencyMs: o.latencyMs }) });
  const sessions: Session[] = [];
  // Each Session its own random source, from the run's seed, N and its index.
  const start = async (host: string, up: number, i: number): Promise<Session> => {
    const node = net.addNode(host, { up, down: o.peerDown });
    const s = await Session.start({ transport: node.transport, clock, random: seededRandom(seed * 1_000_003 + n * 1009 + i) }, { host, port: PORT });
    sessions.push(s);
    return s;
  };
  const seeder = await start(SERVER, o.serverUp, 0);
  await seeder.add(m, { store: new SharedStore(m.layout, data, true), trackers: false, dht: false, assumeComplete: true, superSeed: o.superSeed ?? true });
  const given = o.neighbours ?? DEFAULT_NEIGHBOURS;
  const leechers: Torrent[] = [];
  for (let i = 0; i < n; i++) {
    const s = await start(peerHost(i), o.peerUp, i + 1);
    // A tracker's answer: the seeder, then `given` of the other leechers in a seeded random order.
    const others = shuffled(
      Array.from({ length: n }, (_, k) => k).filter((k) => k !== i),
      seededRandom(seed * 7919 + n * 31 + i),
    ).slice(0, given);
    const peers = [{ host: SERVER, port: PORT }, ...others.map((k) => ({ host: peerHost(k), port: PORT }))];
    leechers.push(await s.add(m, { store: new SharedStore(m.layout, data, false), trackers: false, dht: false, peers }));
  }
  const doneAt: number[] = leechers.map(() => NaN);
  let done = 0;
  leechers.forEach((t, i) =>
    t.on((e) => {
      if (e.type === 'complete' && Number.isNaN(doneAt[i])) {
        doneAt[i] = clock.now();
        done++;
      }
    }),
  );
  const bound = p2pBound(n, { size: o.size, serverUp: o.serverUp, peerUp: o.peerUp, ...(o.peerDown !== undefined && { peerDown: o.peerDown }) });
  await clock.run({ until: () => done === n, maxTime: bound * 1000 * 4 + SLACK_MS });
  const last = Math.max(...doneAt) / 1000;
  // Close inside the simulation: the sessions' goodbyes are network events too.
  let closed = false;
  void Promise.all(sessions.map((s) => s.close())).then(() => (closed = true));
  await clock.run({ until: () => closed, maxTime: clock.now() + 60_000 });
  if (done < n) throw new Error(`p2p, N = ${n}: only ${done} of ${n} leechers complete after ${clock.now() / 1000} s`);
  return last;
}

/** Fisher-Yates with a seeded source. */
function shuffled<T>(list: T[], random: () => number): T[] {
  for (let a = list.length - 1; a > 0; a--) {
    const b = Math.floor(random() * (a + 1));
    [list[a], list[b]] = [list[b]!, list[a]!];
  }
  return list;
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

/**
 * A PieceStore that keeps which pieces it holds, not their bytes: every
 * written piece passed its SHA-1 check, so it is the original, served from
 * the one shared buffer. For the lab only.
 */
export class SharedStore implements PieceStore {
  private readonly held: Uint8Array;
  private closed = false;

  constructor(
    readonly layout: FileLayout,
    private readonly data: Uint8Array,
    complete: boolean,
  ) {
    this.held = new Uint8Array(layout.pieceCount).fill(complete ? 1 : 0);
  }

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    this.check();
    if (this.held[index] !== 1 || begin < 0 || length < 0 || begin + length > this.layout.pieceSize(index)) throw new StorageError('range', `read of piece ${index} [${begin}, +${length}) not held`);
    const at = index * this.layout.pieceLength + begin;
    return this.data.subarray(at, at + length);
  }

  async writePiece(index: number, data: Uint8Array): Promise<void> {
    this.check();
    if (!(index >= 0 && index < this.layout.pieceCount) || data.length !== this.layout.pieceSize(index)) throw new StorageError('range', `write of piece ${index}, ${data.length} bytes`);
    this.held[index] = 1;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new StorageError('closed', 'the store is closed');
  }
}
