import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeCompactPeer, encodeCompactPeer, randomId } from '../../src/dht/node-id.js';
import { MAX_PEERS_PER_TORRENT, MAX_TORRENTS, MAX_VALUES, PEER_TTL_MS, PeerStore } from '../../src/dht/peer-store.js';
import { seededRandom, type Endpoint } from '../../src/net/index.js';

/* The announce_peer store (BEP 5): bounded in torrents, peers and time; get_peers gets a sample. */

const peer = (i: number): Endpoint => ({ host: `198.51.${(i >> 8) & 255}.${i & 255}`, port: 1024 + (i % 60_000) });
const key = (e: Endpoint): string => `${e.host}:${e.port}`;
const hostsOf = (compact: Uint8Array[]): string[] => compact.map((c) => key(decodeCompactPeer(c)!)).sort();

describe('PeerStore', () => {
  const random = seededRandom(1);

  it('gives back announced peers as compact peer info', () => {
    const store = new PeerStore();
    const ih = randomId(random);
    store.add(ih, { host: '203.0.113.7', port: 6881 }, 0);
    assert.deepEqual(store.get(ih, 1, random), [encodeCompactPeer({ host: '203.0.113.7', port: 6881 })]);
    assert.deepEqual(store.get(randomId(random), 1, random), []);
    assert.equal(store.torrentCount, 1);
    assert.equal(store.peerCount, 1);
  });

  it('keeps one entry per address and port; a re-announce refreshes it', () => {
    const store = new PeerStore();
    const ih = randomId(random);
    store.add(ih, peer(1), 0);
    store.add(ih, peer(1), PEER_TTL_MS - 1);
    store.add(ih, { ...peer(1), port: peer(1).port + 1 }, 0);
    assert.equal(store.peerCount, 2);
    assert.deepEqual(hostsOf(store.get(ih, PEER_TTL_MS, random)), [key(peer(1))]);
  });

  it('ignores peers it cannot encode', () => {
    const store = new PeerStore();
    store.add(randomId(random), { host: '::1', port: 1 }, 0);
    store.add(randomId(random), { host: '1.2.3.4', port: 0 }, 0);
    assert.equal(store.torrentCount, 0);
  });

  it('drops the least recently announced torrent beyond maxTorrents', () => {
    const store = new PeerStore({ maxTorrents: 3 });
    const ih = [0, 1, 2, 3].map(() => randomId(random));
    store.add(ih[0]!, peer(0), 0);
    store.add(ih[1]!, peer(1), 1);
    store.add(ih[2]!, peer(2), 2);
    store.add(ih[0]!, peer(9), 3); // ih[0] is now the most recent
    store.add(ih[3]!, peer(3), 4);
    assert.equal(store.torrentCount, 3);
    assert.deepEqual(store.get(ih[1]!, 5, random), []);
    assert.equal(store.get(ih[0]!, 5, random).length, 2);
    assert.equal(store.get(ih[3]!, 5, random).length, 1);
  });

  it(`holds at most MAX_TORRENTS (${MAX_TORRENTS}) torrents by default`, () => {
    const store = new PeerStore();
    for (let i = 0; i < MAX_TORRENTS + 50; i++) store.add(randomId(random), peer(i), i);
    assert.equal(store.torrentCount, MAX_TORRENTS);
  });

  it('drops the oldest announce beyond maxPeers', () => {
    const store = new PeerStore({ maxPeers: 5 });
    const ih = randomId(random);
    for (let i = 0; i < 7; i++) store.add(ih, peer(i), i);
    assert.equal(store.peerCount, 5);
    assert.deepEqual(hostsOf(store.get(ih, 10, random)), [2, 3, 4, 5, 6].map((i) => key(peer(i))).sort());
  });

  it(`holds at most MAX_PEERS_PER_TORRENT (${MAX_PEERS_PER_TORRENT}) peers per torrent by default`, () => {
    const store = new PeerStore();
    const ih = randomId(random);
    for (let i = 0; i < MAX_PEERS_PER_TORRENT + 100; i++) store.add(ih, peer(i), 0);
    assert.equal(store.peerCount, MAX_PEERS_PER_TORRENT);
  });

  it(`announces expire after PEER_TTL_MS`, () => {
    const store = new PeerStore();
    const ih = randomId(random);
    store.add(ih, peer(1), 0);
    store.add(ih, peer(2), 10);
    assert.equal(store.get(ih, PEER_TTL_MS - 1, random).length, 2);
    assert.deepEqual(hostsOf(store.get(ih, PEER_TTL_MS, random)), [key(peer(2))]);
    assert.equal(store.peerCount, 1, 'get drops what expired');
    assert.deepEqual(store.get(ih, PEER_TTL_MS + 10, random), []);
    assert.equal(store.torrentCount, 0, 'and the torrent with no peers left');
  });

  it('expire drops every expired announce and empty torrent', () => {
    const store = new PeerStore();
    const a = randomId(random);
    const b = randomId(random);
    store.add(a, peer(1), 0);
    store.add(b, peer(2), 0);
    store.add(b, peer(3), 100);
    store.expire(PEER_TTL_MS);
    assert.equal(store.torrentCount, 1);
    assert.equal(store.peerCount, 1);
    store.expire(PEER_TTL_MS + 100);
    assert.equal(store.torrentCount, 0);
  });

  it(`answers with a random sample of at most MAX_VALUES (${MAX_VALUES})`, () => {
    const store = new PeerStore();
    const ih = randomId(random);
    const all = new Set<string>();
    for (let i = 0; i < 150; i++) {
      store.add(ih, peer(i), 0);
      all.add(key(peer(i)));
    }
    const seen = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const sample = hostsOf(store.get(ih, 1, random));
      assert.equal(sample.length, MAX_VALUES);
      assert.equal(new Set(sample).size, MAX_VALUES, 'no peer twice');
      for (const h of sample) {
        assert.ok(all.has(h));
        seen.add(h);
      }
    }
    // 20 samples of 50 out of 150 miss a given peer with probability (2/3)^20 ~ 0.0003.
    assert.ok(seen.size > 140, `only ${seen.size} of 150 peers ever sampled`);
  });

  it('gives all peers when there are fewer than MAX_VALUES', () => {
    const store = new PeerStore();
    const ih = randomId(random);
    for (let i = 0; i < 30; i++) store.add(ih, peer(i), 0);
    assert.equal(store.get(ih, 1, random).length, 30);
  });
});
