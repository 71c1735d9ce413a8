import { Session, type Torrent, type TorrentOptions } from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import { realClock, seededRandom, SimClock, SimNetwork, tcpTransport, type Clock, type Endpoint } from '../net/index.js';
import { SharedStore } from './store.js';

/*
 * A BitTorrent swarm for the lab: one seeder (the server of the
 * distribution experiment) and N leechers, each its own Session of the real
 * engine, on either network:
 *
 *   simulated  every node its own host on a SimNetwork, its access link
 *              limited to its upload and download rate, on a virtual clock;
 *              deterministic for a seed;
 *   real       every node a Session on 127.0.0.1 with its own port, TCP
 *              through node:net, its upload held to its rate by the engine's
 *              own limiter (with a small burst, so that a node cannot start
 *              with a second's worth of free upload), on the wall clock.
 *
 * Each leecher is given the seeder and `neighbours` leechers that joined
 * before it or with it, in a seeded random order: what a tracker answers. A
 * leecher may join later than time 0 (`joinAt`), and may have options of
 * its own (a free rider, another piece order).
 */

export interface SwarmSpec {
  readonly network: 'sim' | 'real';
  readonly metainfo: Metainfo;
  readonly data: Uint8Array;
  /** Leechers. */
  readonly n: number;
  /** Bytes/s. */
  readonly serverUp: number;
  readonly peerUp: number;
  readonly peerDown?: number | undefined;
  readonly seed: number;
  /** Other leechers each leecher is given. */
  readonly neighbours: number;
  /** Simulated one-way latency, ms. @default 10 */
  readonly latencyMs?: number | undefined;
  /** The seeder's torrent options (super-seeding, ...). */
  readonly seeder?: Partial<TorrentOptions>;
  /** Leecher i's torrent options. */
  readonly leecher?: (i: number) => Partial<TorrentOptions>;
  /** When leecher i joins, ms after the start. @default 0 */
  readonly joinAt?: (i: number) => number;
}

/** What the swarm saw of leecher i, ms from the start (NaN: not yet). */
export interface LeecherRecord {
  joinedAt: number;
  firstPieceAt: number;
  doneAt: number;
  /** Verified pieces, in order. */
  pieces: number;
}

/** Burst of the real network's rate limiters: four blocks, so a node's first second is not free. */
const REAL_BURST = 64 * 1024;
const SIM_PORT = 6881;

export class Swarm {
  readonly clock: Clock;
  readonly records: LeecherRecord[];
  /** Per piece: leechers holding it (the seeder not counted). */
  readonly copies: Uint32Array;
  seeder: Torrent | undefined;
  readonly leechers: (Torrent | undefined)[];
  private readonly spec: SwarmSpec;
  private readonly sim: { clock: SimClock; net: SimNetwork } | undefined;
  private readonly sessions: Session[] = [];
  private readonly endpoints: Endpoint[] = [];
  private seederSession: Session | undefined;
  private readonly listeners: ((i: number, index: number) => void)[] = [];
  private readonly start: number;
  private done = 0;

  constructor(spec: SwarmSpec) {
    this.spec = spec;
    if (spec.network === 'sim') {
      const clock = new SimClock();
      this.sim = { clock, net: new SimNetwork({ clock, seed: spec.seed, ...(spec.latencyMs !== undefined && { latencyMs: spec.latencyMs }) }) };
      this.clock = clock;
    } else {
      this.sim = undefined;
      this.clock = realClock;
    }
    this.start = this.clock.now();
    this.records = Array.from({ length: spec.n }, () => ({ joinedAt: NaN, firstPieceAt: NaN, doneAt: NaN, pieces: 0 }));
    this.copies = new Uint32Array(spec.metainfo.pieceCount);
    this.leechers = new Array<Torrent | undefined>(spec.n).fill(undefined);
  }

  /** ms since the swarm was made. */
  now(): number {
    return this.clock.now() - this.start;
  }

  get completed(): number {
    return this.done;
  }

  /** Call `fn(i, piece)` whenever leecher i verifies a piece. */
  onPiece(fn: (i: number, index: number) => void): void {
    this.listeners.push(fn);
  }

  /** Start every Session (so each can be dialled), the seeder's torrent, and the leechers that join at 0; schedule the others. */
  async launch(): Promise<void> {
    const { spec } = this;
    this.seederSession = await this.session(0, spec.serverUp);
    for (let i = 0; i < spec.n; i++) await this.session(i + 1, spec.peerUp);
    const m = spec.metainfo;
    this.seeder = await this.seederSession.add(m, { store: new SharedStore(m.layout, spec.data, true), trackers: false, dht: false, assumeComplete: true, ...spec.seeder });
    const joinAt = spec.joinAt ?? ((): number => 0);
    for (let i = 0; i < spec.n; i++) {
      const at = joinAt(i);
      if (at <= 0) await this.join(i);
      else this.clock.setTimer(at, () => void this.join(i));
    }
  }

  /** Run until `until()` holds or `maxMs` (from the start) has passed. */
  async run(until: () => boolean, maxMs: number): Promise<void> {
    if (this.sim !== undefined) return this.sim.clock.run({ until, maxTime: this.start + maxMs });
    while (!until() && this.now() < maxMs) await new Promise((r) => setTimeout(r, 10));
  }

  /** Run until every leecher is complete (or maxMs); true if they all are. */
  async runToEnd(maxMs: number): Promise<boolean> {
    await this.run(() => this.done === this.spec.n, maxMs);
    return this.done === this.spec.n;
  }

  /** The seeder leaves (its Session closes: peers see the connections drop). */
  async seederLeaves(): Promise<void> {
    await this.seederSession?.close();
  }

  /** Close every Session; on the simulator, inside the simulation (the goodbyes are network events too). */
  async close(): Promise<void> {
    let closed = false;
    const all = Promise.all(this.sessions.map((s) => s.close())).then(() => void (closed = true));
    if (this.sim !== undefined) await this.sim.clock.run({ until: () => closed, maxTime: this.sim.clock.now() + 60_000 });
    await all;
  }

  private async session(i: number, up: number): Promise<Session> {
    const random = seededRandom(this.spec.seed * 1_000_003 + this.spec.n * 1009 + i);
    let s: Session;
    if (this.sim !== undefined) {
      const host = i === 0 ? '10.0.0.1' : `10.1.${i >> 8}.${i & 255}`;
      const node = this.sim.net.addNode(host, { up, down: this.spec.peerDown });
      s = await Session.start({ transport: node.transport, clock: this.sim.clock, random }, { host, port: SIM_PORT });
      this.endpoints.push({ host, port: SIM_PORT });
    } else {
      const limits = { maxUpload: up, ...(this.spec.peerDown !== undefined && i > 0 && { maxDownload: this.spec.peerDown }), limitBurst: REAL_BURST };
      s = await Session.start({ transport: tcpTransport, clock: realClock, random }, { host: '127.0.0.1', port: 0, ...limits });
      this.endpoints.push({ host: '127.0.0.1', port: s.port });
    }
    this.sessions.push(s);
    return s;
  }

  private async join(i: number): Promise<void> {
    const { spec } = this;
    const m = spec.metainfo;
    const joinAt = spec.joinAt ?? ((): number => 0);
    const mine = joinAt(i);
    // A tracker's answer: the seeder, then `neighbours` of those who joined before (or with) us, in a seeded order.
    const earlier = Array.from({ length: spec.n }, (_, k) => k).filter((k) => k !== i && joinAt(k) <= mine);
    const others = shuffled(earlier, seededRandom(spec.seed * 7919 + spec.n * 31 + i)).slice(0, spec.neighbours);
    const peers = [this.endpoints[0]!, ...others.map((k) => this.endpoints[k + 1]!)];
    const record = this.records[i]!;
    record.joinedAt = this.now();
    const t = await this.sessions[i + 1]!.add(m, { store: new SharedStore(m.layout, spec.data, false), trackers: false, dht: false, peers, ...spec.leecher?.(i) });
    this.leechers[i] = t;
    t.on((e) => {
      if (e.type === 'piece-verified') {
        if (record.pieces++ === 0) record.firstPieceAt = this.now();
        this.copies[e.index]!++;
        for (const fn of this.listeners) fn(i, e.index);
      } else if (e.type === 'complete' && Number.isNaN(record.doneAt)) {
        record.doneAt = this.now();
        this.done++;
      }
    });
  }
}

/** Fisher-Yates with a seeded source. */
export function shuffled<T>(list: T[], random: () => number): T[] {
  for (let a = list.length - 1; a > 0; a--) {
    const b = Math.floor(random() * (a + 1));
    [list[a], list[b]] = [list[b]!, list[a]!];
  }
  return list;
}
