import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, seededRandom } from '../../../src/net/index.js';
import { decodePeers4, decodePeers6 } from '../../../src/tracker/compact.js';
import { TrackerError } from '../../../src/tracker/errors.js';
import { Tracker, type Announce, type TrackerOptions } from '../../../src/tracker/server/tracker.js';

/*
 * The tracker core without sockets: announces go in with an explicit `nowMs`,
 * replies come out, and a seeded random source makes the peer choice repeatable.
 */

const HASH = new Uint8Array(20).fill(0xaa);
const OTHER = new Uint8Array(20).fill(0xbb);

function peerId(n: number): Uint8Array {
  const b = new Uint8Array(20);
  new DataView(b.buffer).setUint32(16, n);
  return b;
}

/** Peer `n` at 10.x.y.z:(6881 + n % 1000). */
function host(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function ann(n: number, over: Partial<Announce> = {}): Announce {
  return { infoHash: HASH, peerId: peerId(n), host: host(n), port: 6881 + (n % 1000), left: 100, event: 'none', numWant: undefined, wantPeerIds: false, ...over };
}

function tracker(options: TrackerOptions = {}): Tracker {
  return new Tracker(seededRandom(7), options);
}

function addresses(peers: Uint8Array): string[] {
  return decodePeers4(peers).map((p) => `${p.host}:${p.port}`);
}

describe('Tracker', () => {
  it('returns the other peers, never the requester, with counts', () => {
    const t = tracker();
    for (let n = 1; n <= 5; n++) t.announce(ann(n, { event: 'started', left: n === 1 ? 0 : 100 }), 0);
    const r = t.announce(ann(3), 1000);
    assert.deepEqual(addresses(r.peers).sort(), [1, 2, 4, 5].map((n) => `${host(n)}:${6881 + n}`).sort());
    assert.equal(r.seeders, 1);
    assert.equal(r.leechers, 4);
    assert.equal(r.interval, 1800);
    assert.equal(r.minInterval, 900);
    assert.equal(r.peers6.length, 0);
    assert.equal(r.peerIds, undefined);
    assert.equal(t.announce(ann(99, { infoHash: OTHER }), 0).peers.length, 0, 'first peer of a swarm gets nobody');
  });

  it('extreme addresses and ports come back exactly', () => {
    const t = tracker();
    const ends = [
      ['0.0.0.0', 1],
      ['255.255.255.255', 65535],
      ['128.0.0.0', 32768],
      ['::ffff:1.2.3.4', 256],
    ] as const;
    for (const [h, port] of ends) t.announce(ann(1, { host: h, port }), 0);
    assert.deepEqual(addresses(t.announce(ann(2), 0).peers).sort(), ['0.0.0.0:1', '1.2.3.4:256', '128.0.0.0:32768', '255.255.255.255:65535']);
  });

  it('the same address on another port is another peer', () => {
    const t = tracker();
    t.announce(ann(1), 0);
    const r = t.announce(ann(1, { port: 7000 }), 0);
    assert.deepEqual(addresses(r.peers), [`${host(1)}:6882`]);
    assert.equal(t.stats().peers, 2);
  });

  it('gives a seeder only leechers, a leecher everyone', () => {
    const t = tracker();
    for (let n = 1; n <= 10; n++) t.announce(ann(n, { left: n <= 4 ? 0 : 100 }), 0);
    const seeder = t.announce(ann(1, { left: 0n }), 0);
    assert.deepEqual(addresses(seeder.peers).sort(), [5, 6, 7, 8, 9, 10].map((n) => `${host(n)}:${6881 + n}`).sort());
    assert.equal(addresses(t.announce(ann(5), 0).peers).length, 9);
    assert.equal(t.announce(ann(11, { left: 0 }), 0).peers.length / 6, 6);
  });

  it('numwant: default 50, capped at 200, 0 gives none, negative means the default', () => {
    const t = tracker();
    for (let n = 1; n <= 260; n++) t.announce(ann(n), 0);
    const count = (numWant: number | undefined): number => t.announce(ann(1000, { numWant }), 0).peers.length / 6;
    assert.equal(count(undefined), 50);
    assert.equal(count(10), 10);
    assert.equal(count(500), 200);
    assert.equal(count(100_000), 200);
    assert.equal(count(0), 0);
    assert.equal(count(-1), 50);
    const custom = tracker({ defaultNumWant: 5, maxNumWant: 20 });
    for (let n = 1; n <= 30; n++) custom.announce(ann(n), 0);
    assert.equal(custom.announce(ann(1), 0).peers.length / 6, 5);
    assert.equal(custom.announce(ann(1, { numWant: 100 }), 0).peers.length / 6, 20);
  });

  it('no duplicates in a reply, for every swarm size', () => {
    const t = tracker();
    for (let n = 1; n <= 400; n++) {
      const r = addresses(t.announce(ann(n), 0).peers);
      assert.equal(new Set(r).size, r.length);
      assert.equal(r.length, Math.min(50, n - 1));
    }
  });

  it('events: started adds, stopped removes, completed counts once per peer', () => {
    const t = tracker();
    t.announce(ann(1, { event: 'started' }), 0);
    t.announce(ann(2, { event: 'started' }), 0);
    assert.deepEqual([t.stats().peers, t.stats().leechers], [2, 2]);
    t.announce(ann(1, { event: 'completed', left: 0 }), 0);
    t.announce(ann(1, { event: 'completed', left: 0 }), 0);
    t.announce(ann(1, { left: 0 }), 0);
    assert.equal(t.stats().completed, 1, 'a repeated completed is not a second download');
    assert.deepEqual([t.stats().seeders, t.stats().leechers], [1, 1]);
    t.announce(ann(3, { event: 'completed', left: 0 }), 0);
    assert.equal(t.stats().completed, 2, 'a new peer that says completed counts');
    const stopped = t.announce(ann(2, { event: 'stopped' }), 0);
    assert.equal(stopped.peers.length, 0, 'no peers for a peer that leaves');
    assert.deepEqual([stopped.seeders, stopped.leechers], [2, 0]);
    t.announce(ann(2, { event: 'stopped' }), 0); // twice: nothing happens
    assert.equal(t.stats().peers, 2);
    assert.equal(t.stats().torrents, 1);
  });

  it('a stopped for an unknown torrent creates no swarm', () => {
    const t = tracker();
    const r = t.announce(ann(1, { event: 'stopped' }), 0);
    assert.deepEqual([r.seeders, r.leechers, r.peers.length], [0, 0, 0]);
    assert.equal(t.stats().torrents, 0);
    assert.equal(t.stats().announces, 1);
  });

  it('refuses torrents off the allow list, and new ones beyond maxTorrents', () => {
    const t = tracker({ allowList: new Set([String.fromCharCode(...HASH)]) });
    t.announce(ann(1), 0);
    assert.throws(() => t.announce(ann(1, { infoHash: OTHER }), 0), (e) => e instanceof TrackerError && e.code === 'not-allowed');
    assert.equal(t.stats().torrents, 1);
    const small = tracker({ maxTorrents: 1 });
    small.announce(ann(1), 0);
    small.announce(ann(2), 0);
    assert.throws(() => small.announce(ann(1, { infoHash: OTHER }), 0), (e) => e instanceof TrackerError && e.code === 'failure');
  });

  it('refuses wrong lengths, bad ports and unusable addresses with a TrackerError', () => {
    const t = tracker();
    const bad: Partial<Announce>[] = [
      { infoHash: new Uint8Array(19) },
      { infoHash: new Uint8Array(21) },
      { peerId: new Uint8Array(0) },
      { peerId: new Uint8Array(21) },
      { port: 0 },
      { port: 65536 },
      { port: -1 },
      { port: 1.5 },
      { port: Number.NaN },
      { host: 'not-an-address' },
      { host: '' },
      ...['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1..2.3', '::ffff:1.2.3', '2001:db8::g'].map((h) => ({ host: h })),
    ];
    for (const b of bad) assert.throws(() => t.announce(ann(1, b), 0), (e) => e instanceof TrackerError && e.code === 'bad-param', JSON.stringify(b));
    assert.equal(t.stats().peers, 0);
    for (const port of [1, 65535]) t.announce(ann(1, { port }), 0);
    assert.equal(t.stats().peers, 2);
  });

  it('IPv6 peers go to peers6, IPv4-mapped ones count as IPv4', () => {
    const t = tracker();
    t.announce(ann(1, { host: '2001:db8::1', port: 1000 }), 0);
    t.announce(ann(2, { host: '::ffff:192.0.2.7', port: 2000 }), 0);
    t.announce(ann(3, { host: '2001:db8::3', port: 3000, left: 0 }), 0);
    const r = t.announce(ann(4), 0);
    assert.deepEqual(addresses(r.peers), ['192.0.2.7:2000']);
    assert.deepEqual(decodePeers6(r.peers6).map((p) => `${p.host}/${p.port}`).sort(), ['2001:db8:0:0:0:0:0:1/1000', '2001:db8:0:0:0:0:0:3/3000']);
    const six = t.announce(ann(1, { host: '2001:db8::1', port: 1000 }), 0);
    assert.deepEqual(decodePeers6(six.peers6).map((p) => p.port), [3000], 'not itself');
    assert.equal(six.peers.length / 6, 2);
    const seeder6 = t.announce(ann(3, { host: '2001:db8::3', port: 3000, left: 0 }), 0);
    assert.deepEqual(decodePeers6(seeder6.peers6).map((p) => p.port), [1000]);
    assert.deepEqual([seeder6.seeders, seeder6.leechers], [1, 3]);
    t.announce(ann(3, { host: '2001:db8::3', port: 3000, event: 'stopped' }), 0);
    assert.deepEqual([t.stats().peers, t.stats().seeders], [3, 0]);
    const one = t.announce(ann(5, { host: '2001:db8::5', numWant: 1 }), 0);
    assert.equal(one.peers6.length + one.peers.length, 18, 'numwant counts both families: one IPv6 peer');
  });

  it('IPv6 completed counts once per peer too', () => {
    const t = tracker();
    const v6 = { host: '2001:db8::9', port: 9 };
    t.announce(ann(1, { ...v6, event: 'started' }), 0);
    t.announce(ann(1, { ...v6, event: 'completed', left: 0 }), 0);
    t.announce(ann(1, { ...v6, event: 'completed', left: 0 }), 0);
    t.announce(ann(2, { host: '2001:db8::a', port: 9, event: 'completed', left: 0 }), 0);
    assert.equal(t.stats().completed, 2);
    assert.equal(t.stats().seeders, 2);
  });

  it('the dictionary model returns peer ids in the order of the peers', () => {
    const t = tracker();
    for (let n = 1; n <= 6; n++) t.announce(ann(n, { wantPeerIds: true }), 0);
    t.announce(ann(7, { host: '2001:db8::7', wantPeerIds: true }), 0);
    const r = t.announce(ann(8, { wantPeerIds: true }), 0);
    const v4 = addresses(r.peers);
    assert.equal(r.peerIds?.length, v4.length + r.peers6.length / 18);
    v4.forEach((a, i) => {
      const n = Number(a.split(':')[0]!.split('.')[3]);
      assert.deepEqual(r.peerIds![i], peerId(n));
    });
    assert.deepEqual(r.peerIds![v4.length], peerId(7));
    assert.equal(t.announce(ann(8), 0).peerIds, undefined, 'compact clients get no ids');
  });

  it('peer ids of peers that announced before anyone asked for them read as zeros', () => {
    const t = tracker();
    t.announce(ann(1), 0);
    const r = t.announce(ann(2, { wantPeerIds: true }), 0);
    assert.deepEqual(r.peerIds, [new Uint8Array(20)]);
    t.announce(ann(1), 0); // re-announces (compact): its id is now kept
    assert.deepEqual(t.announce(ann(2, { wantPeerIds: true }), 0).peerIds, [peerId(1)]);
  });

  it('expire drops peers silent for longer than the timeout, then empty swarms', () => {
    const clock = new ManualClock();
    const t = tracker({ interval: 600, peerTimeout: 1200 }); // 20 minutes
    t.announce(ann(1), clock.now());
    t.announce(ann(2, { infoHash: OTHER }), clock.now());
    clock.advance(10 * 60_000);
    t.announce(ann(3, { left: 0 }), clock.now());
    assert.equal(t.expire(clock.now()), 0);
    clock.advance(11 * 60_000); // 21 minutes after peers 1 and 2
    assert.equal(t.expire(clock.now()), 2);
    assert.deepEqual([t.stats().torrents, t.stats().peers, t.stats().seeders], [1, 1, 1]);
    t.announce(ann(3, { left: 0 }), clock.now()); // refreshes
    clock.advance(20 * 60_000);
    assert.equal(t.expire(clock.now()), 0, 'exactly the timeout: kept');
    clock.advance(60_000);
    assert.equal(t.expire(clock.now()), 1);
    assert.equal(t.stats().torrents, 0);
  });

  it('expire works for IPv6 peers and far from time zero', () => {
    const t = tracker({ peerTimeout: 60 });
    const start = 1e12; // minute counter far beyond 2^15
    t.announce(ann(1, { host: '::1' }), start);
    t.announce(ann(2), start);
    assert.equal(t.expire(start + 60_000), 0);
    assert.equal(t.expire(start + 120_000), 2);
    assert.equal(t.stats().peers, 0);
  });

  it('scrape counts seeders, completed and leechers; none named means all', () => {
    const t = tracker();
    t.announce(ann(1, { left: 0 }), 0);
    t.announce(ann(2), 0);
    t.announce(ann(3), 0);
    t.announce(ann(3, { event: 'completed', left: 0 }), 0);
    t.announce(ann(4, { infoHash: OTHER }), 0);
    const unknown = new Uint8Array(20).fill(1);
    const files = t.scrape([HASH, unknown, OTHER]);
    assert.deepEqual(
      files.map((f) => f.counts),
      [
        { seeders: 2, completed: 1, leechers: 1 },
        { seeders: 0, completed: 0, leechers: 0 },
        { seeders: 0, completed: 0, leechers: 1 },
      ],
    );
    assert.deepEqual(files[1]!.infoHash, unknown);
    assert.equal(t.stats().torrents, 2, 'a scrape creates no swarm');
    const all = t.scrape([]);
    assert.deepEqual(all.map((f) => f.infoHash).sort((a, b) => a[0]! - b[0]!), [HASH, OTHER]);
    assert.equal(t.stats().scrapes, 2);
    assert.deepEqual(t.stats(), { torrents: 2, peers: 4, seeders: 2, leechers: 2, completed: 1, announces: 5, scrapes: 2 });
  });

  it('is repeatable for a given seed', () => {
    const run = (): string[] => {
      const t = new Tracker(seededRandom(42));
      for (let n = 1; n <= 300; n++) t.announce(ann(n), 0);
      return addresses(t.announce(ann(1), 0).peers);
    };
    assert.deepEqual(run(), run());
  });

  it('counts a completion only for a peer that now has everything, once', () => {
    const t = new Tracker(seededRandom(1));
    t.announce(ann(1, { event: 'completed', left: 1000n }), 0);
    t.announce(ann(1, { event: 'completed', left: 1000n }), 0);
    assert.equal(t.stats().completed, 0);
    t.announce(ann(1, { event: 'completed', left: 0n }), 0);
    t.announce(ann(1, { event: 'completed', left: 0n }), 0);
    assert.equal(t.stats().completed, 1);
  });

  it('limits how many new torrents one address may create a minute', () => {
    const t = new Tracker(seededRandom(1), { maxNewTorrentsPerMinute: 3 });
    const fresh = (n: number, host: string, at: number) => t.announce({ ...ann(1), infoHash: new Uint8Array(20).fill(n), host }, at);
    for (let n = 1; n <= 3; n++) fresh(n, '10.0.0.1', 0);
    assert.throws(() => fresh(4, '10.0.0.1', 0), (e: unknown) => e instanceof TrackerError && /too many new torrents/.test(e.message));
    fresh(4, '10.0.0.2', 0); // another address is not held back
    fresh(5, '10.0.0.1', 60_000); // nor the same one a minute later
    fresh(1, '10.0.0.1', 60_000); // and announcing to existing torrents never counts
    assert.equal(t.stats().torrents, 5);
  });

  it('keeps its totals right through announces, stops and expiry', () => {
    const t = new Tracker(seededRandom(1), { interval: 60 });
    const sum = () => t.scrape([]).reduce((a, f) => ({ s: a.s + f.counts.seeders, l: a.l + f.counts.leechers }), { s: 0, l: 0 });
    for (let n = 1; n <= 6; n++) t.announce({ ...ann(n, { left: n % 2 === 0 ? 0n : 5n }), infoHash: new Uint8Array(20).fill(n % 3) }, 0);
    t.announce({ ...ann(2, { event: 'stopped' }), infoHash: new Uint8Array(20).fill(2) }, 0);
    let st = t.stats();
    assert.deepEqual({ s: st.seeders, l: st.leechers }, sum());
    t.announce({ ...ann(9), infoHash: new Uint8Array(20).fill(0) }, 10 * 60_000);
    t.expire(10 * 60_000);
    st = t.stats();
    assert.deepEqual({ s: st.seeders, l: st.leechers, torrents: st.torrents, peers: st.peers }, { ...sum(), torrents: 1, peers: 1 });
  });
});
