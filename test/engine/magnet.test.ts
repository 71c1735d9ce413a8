import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DhtNode } from '../../src/dht/index.js';
import { fetchMetadata, Session } from '../../src/engine/index.js';
import { parseTorrent, torrentFromInfo } from '../../src/metainfo/index.js';
import { bindUdp, seededRandom } from '../../src/net/index.js';
import { MemoryStore } from '../../src/storage/index.js';
import { createServer, type Server } from 'node:net';
import { encodeExtendedHandshake, encodeHandshake, encodeMessage } from '../../src/wire/index.js';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';
import { readAll, until } from './loopback.js';

/*
 * Trackerless downloads in one process on loopback: sessions with DHT nodes
 * find each other by info hash (BEP 5), a leecher that has only the info
 * hash fetches the metadata from a peer (BEP 9) and then the data, and
 * peers learn of each other through peer exchange (BEP 11). The same paths
 * against libtorrent are in test/interop/dht.test.ts.
 */

const sessions: Session[] = [];
const nodes: DhtNode[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  for (const n of nodes) n.close();
});

async function dhtNode(seed: number, bootstrap: DhtNode[]): Promise<DhtNode> {
  const n = new DhtNode({ socket: await bindUdp('127.0.0.1', 0), random: seededRandom(seed), queryRate: Infinity, bootstrap: bootstrap.map((b) => b.local) });
  nodes.push(n);
  if (bootstrap.length > 0) await n.bootstrap();
  return n;
}

async function session(seed: number, dht?: DhtNode): Promise<Session> {
  const s = await Session.start({ random: seededRandom(seed), ...(dht !== undefined && { dht }) }, { host: '127.0.0.1', port: 0 });
  sessions.push(s);
  return s;
}

describe('trackerless: DHT, metadata exchange, peer exchange', () => {
  it('a leecher with only the info hash finds the seeder in the DHT, fetches the metadata and the data', async () => {
    const data = bytesOf(1024 * 1024 + 777, 21);
    const m = parseTorrent(torrentBytes(singleInfo(data, 32 * 1024)));
    const router = await dhtNode(1, []);
    const others = [];
    for (let i = 0; i < 6; i++) others.push(await dhtNode(10 + i, [router]));
    const seederNode = await dhtNode(2, [router]);
    const seeder = await session(3, seederNode);
    const seeding = await seeder.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    await until(seeding, 'dht');

    const leecherNode = await dhtNode(4, [router]);
    const leecher = await session(5, leecherNode);
    const fetched = await fetchMetadata(leecher, m.infoHash, {});
    assert.deepEqual(Buffer.from(fetched.info), Buffer.from(m.infoBytes), 'the info dictionary, byte for byte');
    assert.deepEqual(fetched.peers[0], { host: '127.0.0.1', port: seeder.port }, 'the seeder served it');
    const fromMagnet = parseTorrent(torrentFromInfo(fetched.info));
    assert.equal(fromMagnet.infoHashHex, m.infoHashHex);
    const store = new MemoryStore(fromMagnet.layout);
    const t = await leecher.add(fromMagnet, { store, trackers: false, peers: fetched.peers });
    await until(t, 'complete');
    assert.ok(Buffer.from(data).equals(await readAll(store, fromMagnet)), 'byte-identical');
  });

  it('metadata from a peer that lies is refused; the honest peer completes it', async () => {
    const data = bytesOf(300_000, 22);
    const m = parseTorrent(torrentBytes(singleInfo(data, 16 * 1024)));
    // The liar serves the info dictionary of another torrent under this info hash.
    const other = parseTorrent(torrentBytes(singleInfo(bytesOf(300_000, 23), 16 * 1024)));
    const liar = await session(30);
    const liarTorrent = await liar.add({ ...other, infoHash: m.infoHash, infoHashHex: m.infoHashHex }, { store: MemoryStore.from(other.layout, bytesOf(300_000, 23)), trackers: false, assumeComplete: true });
    assert.equal(liarTorrent.complete, true);
    const honest = await session(31);
    await honest.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    const me = await session(32);
    const events: string[] = [];
    const fetched = await fetchMetadata(me, m.infoHash, {
      peers: [{ host: '127.0.0.1', port: liar.port }, { host: '127.0.0.1', port: honest.port }],
      maxConnections: 1, // the liar first, alone
      onEvent: (e) => e.type === 'bad-metadata' && events.push(...e.peers),
    });
    assert.deepEqual(Buffer.from(fetched.info), Buffer.from(m.infoBytes));
    assert.deepEqual(events, [`127.0.0.1:${liar.port}`]);
  });

  it('a peer that announces the wrong metadata size and leaves does not stop the fetch', async () => {
    const data = bytesOf(300_000, 26);
    const m = parseTorrent(torrentBytes(singleInfo(data, 16 * 1024)));
    // A raw peer: handshake, an extended handshake with metadata_size one byte too many, then it hangs up.
    const liar: Server = createServer((socket) => {
      socket.once('data', () => {
        socket.write(encodeHandshake(m.infoHash, new TextEncoder().encode('-XX0000-liarliarliar'), { fast: false, extended: true, dht: false }));
        const h = encodeExtendedHandshake({ m: new Map([['ut_metadata', 3]]), metadataSize: m.infoBytes.length + 1 });
        socket.end(encodeMessage({ type: 'extended', id: 0, payload: h }));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    const liarPort = (liar.address() as { port: number }).port;
    const honest = await session(60);
    await honest.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    const me = await session(61);
    const sizes: number[] = [];
    const fetched = await fetchMetadata(me, m.infoHash, {
      peers: [{ host: '127.0.0.1', port: liarPort }, { host: '127.0.0.1', port: honest.port }],
      maxConnections: 1, // the liar first, alone
      onEvent: (e) => e.type === 'size' && sizes.push(e.bytes),
    });
    liar.close();
    assert.deepEqual(Buffer.from(fetched.info), Buffer.from(m.infoBytes));
    assert.deepEqual(sizes, [m.infoBytes.length + 1, m.infoBytes.length], 'the lie was tried, then dropped for the honest size');
  });

  it('peer exchange: a leecher that knows one peer learns the seeders from it and downloads from them', async () => {
    const data = bytesOf(2 * 1024 * 1024, 24);
    const m = parseTorrent(torrentBytes(singleInfo(data, 32 * 1024)));
    const a = await session(40);
    const b = await session(41);
    await a.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    await b.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    // The go-between knows both seeders but downloads at a trickle: it has next to nothing to give.
    const middle = await session(42);
    await middle.add(m, { store: new MemoryStore(m.layout), trackers: false, maxDownload: 1024, peers: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }] });
    const me = await session(43);
    const store = new MemoryStore(m.layout);
    const t = await me.add(m, { store, trackers: false, peers: [{ host: '127.0.0.1', port: middle.port }] });
    const connected: string[] = [];
    t.on((e) => e.type === 'peer-connected' && connected.push(e.address));
    await until(t, 'complete');
    assert.ok(Buffer.from(data).equals(await readAll(store, m)), 'byte-identical');
    const seeders = [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`];
    assert.ok(connected.some((x) => seeders.includes(x)), `connected to ${connected.join(', ')}: none of the seeders ${seeders.join(', ')}`);
  });

  it('a private torrent (BEP 27) stays out of the DHT and out of peer exchange', async () => {
    const data = bytesOf(200_000, 25);
    const m = parseTorrent(torrentBytes({ ...singleInfo(data, 16 * 1024), private: 1 }));
    assert.equal(m.private, true);
    const router = await dhtNode(50, []);
    const node = await dhtNode(51, [router]);
    const a = await session(52, node);
    const seeding = await a.add(m, { store: MemoryStore.from(m.layout, data), trackers: false, assumeComplete: true });
    const events: string[] = [];
    seeding.on((e) => events.push(e.type));
    const b = await session(53);
    const t = await b.add(m, { store: new MemoryStore(m.layout), trackers: false, peers: [{ host: '127.0.0.1', port: a.port }] });
    const offered: number[] = [];
    t.on((e) => {
      if (e.type === 'piece-verified' && e.index === 0) for (const p of t.peerList()) offered.push(p.extensionIds.get('ut_pex') ?? 0, p.extensionIds.get('ut_metadata') ?? 0);
    });
    await until(t, 'complete');
    // Give a DHT announce, had there been one, time to land.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(router.stats().torrents + node.stats().torrents, 0, 'nobody stored an announce');
    assert.ok(!events.includes('dht'), 'no DHT announce');
    assert.deepEqual(offered, [0, 1], 'the seeder offered ut_metadata (id 1) but not ut_pex');
  });
});
