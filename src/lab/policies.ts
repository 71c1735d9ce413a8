import type { PieceOrderMode } from '../engine/index.js';
import { fileBytes, labTorrent, DEFAULT_NEIGHBOURS, DEFAULT_PIECE_LENGTH } from './distribution.js';
import { seededRandom } from '../net/index.js';
import { shuffled, Swarm, type SwarmSpec } from './swarm.js';

/*
 * The policy experiments: BitTorrent's three rules, each switched off in
 * turn, on the simulated network with the real engine. The server is the
 * first seeder (super-seeding, as in the distribution experiment) and stays
 * unless told to leave; everyone else is a leecher given 15 others.
 *
 *   pieces      rarest first against random and sequential piece
 *               selection: when the last leecher completes, when every
 *               piece has left the server, and how many leechers hold the
 *               rarest piece over time (rarest first spreads the pieces
 *               evenly, so that number climbs early and steadily).
 *   optimistic  choking with and without the optimistic unchoke: newcomers
 *               join a swarm that is busy trading; every regular slot is
 *               taken by peers that reciprocate, so a newcomer, which has
 *               nothing to offer, waits for a slot: the optimistic unchoke
 *               hands one out every 30 s (Cohen §3.3); without it (and a
 *               fifth regular slot instead, so that only the rule changes),
 *               only a slot that happens to come free.
 *   free-rider  peers that upload nothing (no slots, no optimistic unchoke)
 *               among peers that reciprocate: where slots are contested,
 *               tit-for-tat gives them only optimistic unchokes, slots that
 *               come free between rounds and, at the end, the seeds'
 *               leftovers, so they download at a fraction of the others'
 *               rate. In a small swarm where every peer has slots to spare
 *               they do as well as anyone: that is measured too, not hidden.
 *
 * The defaults are slow links (u_s = 400 kB/s, u = 200 kB/s, F = 32 MiB):
 * a few minutes of swarm time, so that several 10 s choke rounds and 30 s
 * optimistic rotations happen (the simulator's cost follows the bytes
 * moved, not the time). Each experiment averages over `seeds`.
 */

export interface PolicyOptions {
  /** Leechers. */
  readonly peers: number;
  readonly size: number;
  readonly serverUp: number;
  readonly peerUp: number;
  readonly peerDown?: number | undefined;
  /** One run per seed (per policy); numbers are averaged or pooled over them. */
  readonly seeds: readonly number[];
  /** @default 128 KiB */
  readonly pieceLength?: number;
  /** @default 15 */
  readonly neighbours?: number;
  /** Whether the server super-seeds (BEP 16). @default true */
  readonly superSeed?: boolean;
  /** Called after each run, with the wall time it took (ms). */
  readonly onRun?: (label: string, seed: number, wallMs: number) => void;
}

/** A run that has not finished after this long (virtual) has failed. */
const MAX_RUN_MS = 3_600_000;

function swarmSpec(o: PolicyOptions, seed: number, data: Uint8Array, extra: Partial<SwarmSpec>): SwarmSpec {
  return {
    network: 'sim',
    metainfo: labTorrent(data, o.pieceLength ?? DEFAULT_PIECE_LENGTH),
    data,
    n: o.peers,
    serverUp: o.serverUp,
    peerUp: o.peerUp,
    peerDown: o.peerDown,
    seed,
    neighbours: o.neighbours ?? DEFAULT_NEIGHBOURS,
    seeder: { superSeed: o.superSeed ?? true },
    ...extra,
  };
}

async function timed<T>(o: PolicyOptions, label: string, seed: number, fn: () => Promise<T>): Promise<T> {
  const wall = performance.now();
  const r = await fn();
  o.onRun?.(label, seed, performance.now() - wall);
  return r;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

// --- pieces -------------------------------------------------------------------

export interface PieceOrderRow {
  readonly policy: PieceOrderMode;
  /** Mean over seeds of the time the last leecher completed, s. */
  readonly seconds: number;
  /** Mean over seeds of the median leecher's completion time, s. */
  readonly median: number;
  /** Mean over seeds of the time every piece was held by some leecher, s. */
  readonly allOut: number;
}

export interface PieceOrderResult {
  readonly rows: readonly PieceOrderRow[];
  /** Per policy, the first seed's run: [time s, leechers holding the rarest piece] every `sampleMs`. */
  readonly rarest: readonly { readonly policy: PieceOrderMode; readonly points: readonly (readonly [number, number])[] }[];
}

export async function runPieceOrders(o: PolicyOptions & { readonly orders?: readonly PieceOrderMode[]; readonly sampleMs?: number; readonly serverLeaves?: boolean }): Promise<PieceOrderResult> {
  const orders = o.orders ?? ['rarest-first', 'random', 'sequential'];
  const sampleMs = o.sampleMs ?? 1000;
  const rows: PieceOrderRow[] = [];
  const rarest: { policy: PieceOrderMode; points: (readonly [number, number])[] }[] = [];
  for (const policy of orders) {
    const last: number[] = [];
    const medians: number[] = [];
    const outs: number[] = [];
    for (const seed of o.seeds) {
      await timed(o, policy, seed, async () => {
        const data = fileBytes(o.size, seed);
        const swarm = new Swarm(swarmSpec(o, seed, data, { leecher: () => ({ pieceOrder: policy }) }));
        await swarm.launch();
        const points: (readonly [number, number])[] = [];
        let allOut = NaN;
        const sample = (): void => {
          let min = Infinity;
          for (const c of swarm.copies) if (c < min) min = c;
          points.push([swarm.now() / 1000, min]);
          if (min >= 1 && Number.isNaN(allOut)) {
            allOut = swarm.now() / 1000;
            if (o.serverLeaves === true) void swarm.seederLeaves();
          }
          if (swarm.completed < o.peers) swarm.clock.setTimer(sampleMs, sample);
        };
        sample();
        const complete = await swarm.runToEnd(MAX_RUN_MS);
        await swarm.close();
        if (!complete) throw new Error(`pieces, ${policy}, seed ${seed}: only ${swarm.completed} of ${o.peers} leechers complete after ${MAX_RUN_MS / 1000} s`);
        points.push([Math.max(...swarm.records.map((r) => r.doneAt)) / 1000, o.peers]);
        const done = swarm.records.map((r) => r.doneAt / 1000);
        last.push(Math.max(...done));
        medians.push(median(done));
        outs.push(allOut);
        if (seed === o.seeds[0]) rarest.push({ policy, points });
      });
    }
    rows.push({ policy, seconds: mean(last), median: mean(medians), allOut: mean(outs) });
  }
  return { rows, rarest };
}

// --- optimistic unchoke ---------------------------------------------------------

export interface OptimisticRow {
  readonly optimistic: boolean;
  /** Newcomers over all seeds. */
  readonly newcomers: number;
  /** Seconds from joining to the first verified piece, over every newcomer of every seed. */
  readonly medianWait: number;
  readonly meanWait: number;
  readonly maxWait: number;
  /** Newcomers that waited longer than one optimistic rotation (30 s). */
  readonly over30: number;
  /** Seconds from joining to completion, the newcomers' median. */
  readonly medianDone: number;
}

export interface OptimisticResult {
  readonly rows: readonly OptimisticRow[];
  /** Every newcomer's wait, s, per mode (for the chart). */
  readonly waits: readonly { readonly optimistic: boolean; readonly waits: readonly number[] }[];
}

export async function runOptimistic(o: PolicyOptions & { readonly newcomers?: number; readonly firstJoinMs?: number; readonly joinEveryMs?: number }): Promise<OptimisticResult> {
  const late = o.newcomers ?? 5;
  const first = o.firstJoinMs ?? 30_000;
  const every = o.joinEveryMs ?? 20_000;
  const rows: OptimisticRow[] = [];
  const all: { optimistic: boolean; waits: number[] }[] = [];
  for (const optimistic of [true, false]) {
    const waits: number[] = [];
    const dones: number[] = [];
    for (const seed of o.seeds) {
      await timed(o, optimistic ? 'with optimistic unchoke' : 'without', seed, async () => {
        const data = fileBytes(o.size, seed);
        const swarm = new Swarm(
          swarmSpec({ ...o, peers: o.peers + late }, seed, data, {
            // Without it, the slot it would take is a fifth regular one: only the rule changes, not the number of slots.
            seeder: { superSeed: o.superSeed ?? true, optimisticUnchoke: optimistic, uploadSlots: optimistic ? 4 : 5 },
            leecher: () => ({ optimisticUnchoke: optimistic, uploadSlots: optimistic ? 4 : 5 }),
            joinAt: (i) => (i < o.peers ? 0 : first + (i - o.peers) * every),
          }),
        );
        await swarm.launch();
        const complete = await swarm.runToEnd(MAX_RUN_MS);
        await swarm.close();
        if (!complete) throw new Error(`optimistic ${optimistic}, seed ${seed}: only ${swarm.completed} leechers complete`);
        for (const r of swarm.records.slice(o.peers)) {
          waits.push((r.firstPieceAt - r.joinedAt) / 1000);
          dones.push((r.doneAt - r.joinedAt) / 1000);
        }
      });
    }
    rows.push({ optimistic, newcomers: waits.length, medianWait: median(waits), meanWait: mean(waits), maxWait: Math.max(...waits), over30: waits.filter((w) => w > 30).length, medianDone: median(dones) });
    all.push({ optimistic, waits });
  }
  return { rows, waits: all };
}

// --- free riders -------------------------------------------------------------------

export interface FreeRiderRow {
  readonly peer: 'free rider' | 'reciprocating';
  /** Peers of this kind over all seeds. */
  readonly count: number;
  /** Their mean download rate, bytes/s, while every reciprocating peer was still downloading. */
  readonly rate: number;
  /** Their mean completion time, s. */
  readonly seconds: number;
  /** Their mean upload, bytes. */
  readonly uploaded: number;
}

export async function runFreeRider(o: PolicyOptions & { readonly riders?: number }): Promise<FreeRiderRow[]> {
  const riders = o.riders ?? 2;
  if (riders < 1 || riders >= o.peers) throw new RangeError(`riders must be from 1 to ${o.peers - 1}`);
  const acc = { rider: { rate: [] as number[], done: [] as number[], up: [] as number[] }, other: { rate: [] as number[], done: [] as number[], up: [] as number[] } };
  for (const seed of o.seeds) {
    await timed(o, 'free riders', seed, async () => {
      const data = fileBytes(o.size, seed);
      // Riders have no upload slots and no optimistic unchoke, so they never unchoke anyone. Which leechers they are
      // is drawn from the seed: the first ones would hold the oldest connections, which win the choker's ties.
      const isRider = new Set(shuffled(Array.from({ length: o.peers }, (_, i) => i), seededRandom(seed * 104_729 + 17)).slice(0, riders));
      const swarm = new Swarm(swarmSpec(o, seed, data, { leecher: (i) => (isRider.has(i) ? { uploadSlots: 0, optimisticUnchoke: false } : {}) }));
      await swarm.launch();
      // The rates that count are those while the others still trade: once one completes, it seeds everyone.
      let snapshot: { at: number; got: number[] } | undefined;
      const watch = (): void => {
        if (swarm.records.some((r, i) => !isRider.has(i) && !Number.isNaN(r.doneAt))) snapshot = { at: swarm.now(), got: swarm.leechers.map((t) => t?.downloaded ?? 0) };
        else swarm.clock.setTimer(100, watch);
      };
      watch();
      const complete = await swarm.runToEnd(MAX_RUN_MS);
      await swarm.close();
      if (!complete || snapshot === undefined) throw new Error(`free riders, seed ${seed}: only ${swarm.completed} of ${o.peers} leechers complete`);
      swarm.records.forEach((r, i) => {
        const into = isRider.has(i) ? acc.rider : acc.other;
        into.rate.push(snapshot!.got[i]! / (snapshot!.at / 1000));
        into.done.push(r.doneAt / 1000);
        into.up.push(swarm.leechers[i]!.uploaded);
      });
    });
  }
  const row = (peer: FreeRiderRow['peer'], a: typeof acc.rider): FreeRiderRow => ({ peer, count: a.rate.length, rate: mean(a.rate), seconds: mean(a.done), uploaded: mean(a.up) });
  return [row('reciprocating', acc.other), row('free rider', acc.rider)];
}
