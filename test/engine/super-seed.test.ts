import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRACE_MS, MAX_OPEN, SuperSeeder } from '../../src/engine/super-seed.js';
import { Session, type Torrent } from '../../src/engine/index.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { seededRandom, SimClock, SimNetwork } from '../../src/net/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { readAll } from './loopback.js';
import { Pieces } from './helpers.js';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';

function seeder(pieceCount: number, held: number[], perPeer = 2): SuperSeeder {
  return new SuperSeeder({ pieceCount, random: seededRandom(1), availability: (i) => held[i]!, perPeer });
}

describe('SuperSeeder (BEP 16): which pieces to offer whom', () => {
  it('offers each peer pieces nobody was offered yet, perPeer at a time, and serves only what it offered', () => {
    const s = seeder(6, [0, 0, 0, 0, 0, 0]);
    const a = s.offers(1, new Pieces(6), 0);
    const b = s.offers(2, new Pieces(6), 0);
    const c = s.offers(3, new Pieces(6), 0);
    assert.equal(a.length, 2);
    assert.equal(new Set([...a, ...b, ...c]).size, 6, 'six different pieces for three peers');
    for (const i of a) assert.ok(s.mayRequest(1, i));
    for (const i of b) assert.ok(!s.mayRequest(1, i), 'a piece offered to another peer is refused');
    assert.deepEqual(s.offers(1, new Pieces(6), 0), [], 'nothing new until an offer is taken up');
  });

  it('makes a new offer when the peer announces an offered piece, least offered and least held first', () => {
    const held = [0, 0, 0, 0, 0, 0];
    const s = seeder(6, held, 1);
    const [first] = s.offers(1, new Pieces(6), 0);
    const [second] = s.offers(2, new Pieces(6), 0);
    const mine = new Pieces(6);
    mine.set(first!);
    held[first!] = 1;
    // Four pieces were never offered: peer 1 gets one of those, and may still ask for the one it holds.
    const [next] = s.offers(1, mine, 0);
    assert.ok(next !== first && next !== second);
    assert.ok(s.mayRequest(1, first!));
    // Peer 3 has piece 5 already: never offered what it holds.
    const its = Pieces.of('000001');
    for (const i of s.offers(3, its, 0)) assert.notEqual(i, 5);
  });

  it('counts an offer sent in full GRACE_MS ago as taken up, have or not; never keeps more than MAX_OPEN open', () => {
    const s = seeder(40, new Array<number>(40).fill(0), 1);
    const [i] = s.offers(1, new Pieces(40), 0);
    s.sent(1, i!, 30_000, 65_536, 100);
    assert.deepEqual(s.offers(1, new Pieces(40), 100 + GRACE_MS), [], 'half of it sent: still open');
    s.sent(1, i!, 35_536, 65_536, 200);
    assert.deepEqual(s.offers(1, new Pieces(40), 199 + GRACE_MS), [], 'sent in full, but only just');
    assert.equal(s.offers(1, new Pieces(40), 200 + GRACE_MS).length, 1, 'a new offer, though no have came');
    assert.ok(s.mayRequest(1, i!), 'the old one may still be asked for');
    assert.equal(s.offers(2, new Pieces(40), 0, 1000).length, MAX_OPEN);
  });

  it('takes back what a peer that left was offered and never took up', () => {
    const s = seeder(3, [0, 0, 0], 1);
    const [a] = s.offers(1, new Pieces(3), 0);
    s.removePeer(1);
    // Piece a is again among the least offered: with one piece left unoffered to a newcomer, it is a's turn.
    const got = new Set([...s.offers(2, new Pieces(3), 0), ...s.offers(3, new Pieces(3), 0), ...s.offers(4, new Pieces(3), 0)]);
    assert.ok(got.has(a!) && got.size === 3);
  });

  it('is done (spread) once the peers hold every piece between them, and forgets a peer that left', () => {
    const held = [1, 1, 0];
    const s = seeder(3, held);
    assert.equal(s.spread, false);
    held[2] = 2;
    assert.equal(s.spread, true);
    s.offers(7, new Pieces(3), 0);
    s.removePeer(7);
    assert.equal(s.offered(7).size, 0);
  });
});

/**
 * The engine on the simulated network: a seeder and four leechers at 1 MB/s each, 2 MiB in 32 pieces. The
 * seeder's upload is what counts until the leechers hold every piece between them; a plain seed sends some
 * pieces to several leechers in that time, a super-seeder about one copy of the file.
 */
async function firstCopy(superSeed: boolean): Promise<{ sentBeforeSpread: number; size: number; identical: boolean }> {
  const size = 2 * 1024 * 1024;
  const data = bytesOf(size, 5);
  const m = parseTorrent(torrentBytes(singleInfo(data, 64 * 1024)));
  const clock = new SimClock();
  const net = new SimNetwork({ clock, seed: 3 });
  const sessions: Session[] = [];
  const start = async (i: number): Promise<Session> => {
    const host = `10.0.0.${i + 1}`;
    const s = await Session.start({ transport: net.addNode(host, { up: 1_000_000 }).transport, clock, random: seededRandom(40 + i) }, { host, port: 6881 });
    sessions.push(s);
    return s;
  };
  await (await start(0)).add(m, { store: MemoryStore.from(m.layout, data), trackers: false, dht: false, assumeComplete: true, superSeed });
  const union = new Set<number>();
  let sentBeforeSpread = NaN;
  const leechers: { torrent: Torrent; store: MemoryStore }[] = [];
  const peers = Array.from({ length: 5 }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 6881 }));
  for (let i = 1; i <= 4; i++) {
    const store = new MemoryStore(m.layout);
    const torrent = await (await start(i)).add(m, { store, trackers: false, dht: false, peers: peers.filter((_, k) => k < i) });
    torrent.on((e) => {
      if (e.type !== 'piece-verified') return;
      union.add(e.index);
      if (union.size === m.pieceCount && Number.isNaN(sentBeforeSpread)) sentBeforeSpread = net.node('10.0.0.1')!.stats.bytesUp;
    });
    leechers.push({ torrent, store });
  }
  await clock.run({ until: () => leechers.every((l) => l.torrent.complete), maxTime: 120_000 });
  let identical = leechers.every((l) => l.torrent.complete);
  for (const l of leechers) identical &&= Buffer.from(data).equals(await readAll(l.store, m));
  let closed = false;
  void Promise.all(sessions.map((s) => s.close())).then(() => (closed = true));
  await clock.run({ until: () => closed, maxTime: clock.now() + 60_000 });
  return { sentBeforeSpread, size, identical };
}

describe('super-seeding in a swarm', () => {
  it('every leecher ends with the exact data, and the seeder sends little more than one copy before every piece is out, less than a plain seed', async () => {
    const sup = await firstCopy(true);
    const plain = await firstCopy(false);
    assert.ok(sup.identical && plain.identical);
    const copies = (r: { sentBeforeSpread: number; size: number }): number => r.sentBeforeSpread / r.size;
    assert.ok(copies(sup) < 1.25, `super-seeder: ${copies(sup).toFixed(2)} copies before every piece was out`);
    assert.ok(copies(plain) > copies(sup), `plain seed ${copies(plain).toFixed(2)} copies, super-seeder ${copies(sup).toFixed(2)}`);
  });
});
