import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Session, type Torrent } from '../../src/engine/index.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { seededRandom, SimClock, SimNetwork } from '../../src/net/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { readAll } from '../engine/loopback.js';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';

/*
 * The real engine on the simulated network: one seeder and five leechers of
 * a 4 MiB torrent, every upload at 1 MB/s, peers given to each other (no
 * tracker; each leecher is given those that started before it). Client-
 * server would take 5 x 4 MiB / 1 MB/s = 21 s; with the leechers trading
 * pieces the bound is max(F/u_s, N*F/(u_s + N*u)) = 4.2 s. Every leecher
 * must end with the seeder's exact bytes, well before the client-server
 * time, in a few seconds of wall time, and a second run with the same seed
 * must finish at exactly the same virtual times.
 */

const MiB = 1024 * 1024;
const LEECHERS = 5;
const RATE = 1_000_000;

interface SwarmResult {
  /** Virtual ms at which each leecher completed. */
  readonly doneAt: readonly number[];
  readonly identical: boolean;
  readonly wallMs: number;
  readonly seederUp: number;
}

/**
 * `earlier`: each leecher is given the seeder and the leechers started before it, as a tracker
 * would answer (it knows only earlier announces); `all`: every other peer, so pairs dial each other
 * at the same instant.
 */
async function swarm(seed: number, peersGiven: 'earlier' | 'all' = 'earlier'): Promise<SwarmResult> {
  const wallStart = performance.now();
  const data = bytesOf(4 * MiB, 3);
  const m = parseTorrent(torrentBytes(singleInfo(data, 64 * 1024)));
  const clock = new SimClock();
  const net = new SimNetwork({ clock, seed });
  const sessions: Session[] = [];
  const start = async (i: number): Promise<Session> => {
    const host = `10.0.0.${i + 1}`;
    const node = net.addNode(host, { up: RATE });
    const s = await Session.start({ transport: node.transport, clock, random: seededRandom(seed * 1000 + i) }, { host, port: 6881 });
    sessions.push(s);
    return s;
  };
  const seeder = await start(0);
  await seeder.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
  const leechers: { torrent: Torrent; store: MemoryStore }[] = [];
  const peers = Array.from({ length: LEECHERS + 1 }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 6881 }));
  for (let i = 1; i <= LEECHERS; i++) {
    const s = await start(i);
    const store = new MemoryStore(m.layout);
    const given = peers.filter((_, k) => k !== i && (peersGiven === 'all' || k < i));
    const torrent = await s.add(m, { store, trackers: false, peers: given });
    leechers.push({ torrent, store });
  }
  const doneAt: number[] = leechers.map(() => NaN);
  leechers.forEach(({ torrent }, i) => torrent.on((e) => void (e.type === 'complete' && (doneAt[i] = clock.now()))));
  await clock.run({ until: () => leechers.every((l) => l.torrent.complete), maxTime: 120_000 });
  const wallMs = performance.now() - wallStart;
  let identical = true;
  for (const l of leechers) identical &&= Buffer.from(data).equals(await readAll(l.store, m));
  const seederUp = net.node('10.0.0.1')!.stats.bytesUp;
  // Close inside the simulation: the sessions' goodbyes are network events too.
  let closed = false;
  void Promise.all(sessions.map((s) => s.close())).then(() => (closed = true));
  await clock.run({ until: () => closed, maxTime: clock.now() + 60_000 });
  return { doneAt, identical, wallMs, seederUp };
}

describe('the engine on the simulated network', () => {
  it('1 seeder + 5 leechers of 4 MiB at 1 MB/s: all complete, P2P beats client-server, deterministic', async () => {
    const one = await swarm(1);
    const clientServer = (LEECHERS * 4 * MiB) / RATE; // s
    const bound = Math.max((4 * MiB) / RATE, (LEECHERS * 4 * MiB) / (RATE + LEECHERS * RATE));
    const last = Math.max(...one.doneAt) / 1000;
    assert.ok(one.identical, 'every leecher has the seeder bytes');
    assert.ok(one.doneAt.every((t) => Number.isFinite(t)), `all completed: ${one.doneAt.join(', ')}`);
    assert.ok(last < clientServer / 2, `last leecher done at ${last} s (client-server: ${clientServer} s, bound ${bound.toFixed(2)} s)`);
    assert.ok(one.seederUp < LEECHERS * 4 * MiB, 'the leechers served each other');
    assert.ok(one.wallMs < 10_000, `wall time ${one.wallMs} ms`);
    const two = await swarm(1);
    assert.deepEqual(two.doneAt, one.doneAt, 'the same virtual times with the same seed');
    console.log(`# 5 leechers: done at ${one.doneAt.map((t) => (t / 1000).toFixed(3)).join(', ')} s (bound ${bound.toFixed(2)} s); wall ${one.wallMs.toFixed(0)} ms`);
  });

  // Two peers that dial each other at once hold two connections; both must keep the same one (the one
  // opened by the peer with the lower peer id, libtorrent's rule), or both close and the leechers only
  // ever download from the seeder (21 s here, the client-server time).
  it('peers that dial each other at the same instant still trade', async () => {
    const r = await swarm(2, 'all');
    const last = Math.max(...r.doneAt) / 1000;
    assert.ok(last < (LEECHERS * 4 * MiB) / RATE / 2, `last leecher done at ${last} s`);
  });
});
