import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { formatEndpoint, OverlayError, parseQuery, sourceKey, type Source } from '../../../src/overlay/index.js';
import { FloodNode, MAX_SEARCH_SOURCES, type FloodMessage } from '../../../src/overlay/flood/index.js';
import { RawPeer, silentServer, startNodes, until } from './helpers.js';

/*
 * A real node on a loopback port against peers that cost it without
 * breaking the protocol: neighbours that say hello and go silent, strangers
 * that take every slot, a flood of fresh query ids, a neighbour that answers
 * one search with more sources than anyone needs, and addresses nobody asked
 * for. And a join that the user gives up on.
 */

const id = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (n >> (8 * (i % 4))) & 0xff);
const query = (n: number, ttl: number): FloodMessage => ({ t: 'query', id: id(n), ttl, hops: 1, query: parseQuery('nothing matches this') });
const hash = (n: number): string => n.toString(16).padStart(40, '0');
const source = (n: number): Source => ({ hash: hash(n), name: `song-${n}.mp3`, size: n, address: { host: '127.0.0.1', port: 20000 + (n % 1000) } });

/** Connect and send hello without waiting for the answer (a full node answers bye instead). */
async function helloAndSilence(to: { host: string; port: number }, idByte: number): Promise<RawPeer> {
  const p = await RawPeer.connect(to);
  p.send({ t: 'hello', port: 0, id: new Uint8Array(16).fill(idByte) });
  return p;
}

describe('a flood node against costly peers', () => {
  it('pings neighbours that go silent, drops them, and lets a real node in', async () => {
    // 9 slots, none kept for links x dials (the next test is about those): a live neighbour and 8 silent ones fill them.
    const [x, y] = await startNodes(2, (i) => (i === 0 ? { maxNeighbours: 9, targetNeighbours: 4, outgoingSlots: 0, pingMs: 100, maintainMs: 600_000 } : { targetNeighbours: 1, maintainMs: 50 }));
    const peers: RawPeer[] = [];
    try {
      const live = await RawPeer.neighbour(x!.address, 0x01);
      live.answerPings = true;
      peers.push(live);
      for (let i = 0; i < 8; i++) peers.push(await helloAndSilence(x!.address, 0x10 + i));
      await until(() => x!.node.stats().neighbours === 9, 'x is full');
      await assert.rejects(y!.node.join([x!.address]), (e: unknown) => e instanceof OverlayError && e.code === 'unreachable' && /full/.test(e.message));

      // The silent ones are pinged after 100 ms and dropped after 250 ms; y's maintenance dials x again and gets in.
      await until(() => y!.node.stats().neighbours === 1, 'y has x as its neighbour');
      const silent = peers.slice(1);
      assert.ok(
        silent.every((p) => p.isClosed && p.all('ping').length >= 1),
        'each silent neighbour was pinged, then dropped',
      );
      assert.equal(live.isClosed, false, 'a neighbour that answers pings stays');
      assert.deepEqual(x!.node.neighbours(), [y!.address]);
      assert.equal(x!.node.stats().silent, 8);
      assert.equal(x!.node.stats().badPeers, 0, 'silence is not a protocol violation');
    } finally {
      for (const p of peers) p.close();
      await Promise.all([x!.node.close(), y!.node.close()]);
    }
  });

  it('keeps slots for links it dials: strangers cannot take them, and a node with only strangers dials one of its own', async () => {
    // target 2 of at most 4: 2 slots for strangers, 2 for links x dials.
    const [x, y, z] = await startNodes(3, (i) => (i === 0 ? { targetNeighbours: 2, maxNeighbours: 4, pingMs: 100, maintainMs: 50 } : { targetNeighbours: 1, maintainMs: 600_000 }));
    const peers: RawPeer[] = [];
    try {
      const [s1, s2] = [await RawPeer.neighbour(x!.address, 0x21), await RawPeer.neighbour(x!.address, 0x22)];
      peers.push(s1, s2);
      s2.answerPings = true;
      for (let i = 0; i < 2; i++) peers.push(await helloAndSilence(x!.address, 0x30 + i));
      await until(() => peers.filter((p) => p.isClosed && p.all('bye')[0]?.reason === 'full').length === 2, 'x turns the third and fourth stranger away as full');
      // x has its target of links, all opened by strangers. Its keep-alive ping to s1 brings it z's address...
      await s1.next('ping');
      s1.send({ t: 'pong', addresses: [z!.address] });
      s1.answerPings = true;
      // ...and its maintenance dials z: a link of its own choosing.
      await until(() => x!.node.neighbours().some((e) => formatEndpoint(e) === z!.key), 'x dials z');
      // The slots kept for it let x dial y as well.
      assert.equal(await x!.node.join([y!.address]), 4);
      assert.deepEqual(x!.node.neighbours().map(formatEndpoint).sort(), [y!.key, z!.key].sort());
    } finally {
      for (const p of peers) p.close();
      await Promise.all([x!.node.close(), y!.node.close(), z!.node.close()]);
    }
  });

  it('keeps each source of a search once, and at most MAX_SEARCH_SOURCES of them', async () => {
    const [x] = await startNodes(1, () => ({ maintainMs: 600_000 }));
    const r = await RawPeer.neighbour(x!.address, 0x40);
    try {
      await until(() => x!.node.stats().neighbours === 1, 'r is a neighbour');
      const stop = new AbortController();
      let calls = 0;
      const pending = x!.node.search(parseQuery('song'), { ttl: 1, waitMs: 10_000, signal: stop.signal, onHit: () => void calls++ });
      const q = await r.next('query');
      const batch = (from: number): Source[] => Array.from({ length: 50 }, (_, i) => source(from + i));
      r.send({ t: 'hit', id: q.id, hops: 1, sources: batch(0) });
      r.send({ t: 'hit', id: q.id, hops: 1, sources: batch(0) }); // the same 50 again, as by another path
      for (let k = 1; k <= 20; k++) r.send({ t: 'hit', id: q.id, hops: 1, sources: batch(50 * k) }); // 1000 more: 1050 in all
      await until(() => x!.node.stats().received.hit === 22, 'x has all 22 hits');
      stop.abort();
      const { hits } = await pending;
      assert.equal(hits.length, MAX_SEARCH_SOURCES);
      assert.equal(new Set(hits.map((h) => sourceKey(h.source))).size, MAX_SEARCH_SOURCES, 'each source once');
      assert.equal(calls, MAX_SEARCH_SOURCES, 'onHit is called once per source kept');
      assert.equal(x!.node.stats().dropped, 50, 'the 50 sources over the cap are counted as dropped');
    } finally {
      r.close();
      await x!.node.close();
    }
  });

  it('keeps its own searches and the reverse paths of other neighbours while one floods fresh query ids', async () => {
    // 80 ids of other nodes' queries, 8 neighbours at most: 10 per neighbour. No rate limit to speak of, to test the table alone.
    const [x] = await startNodes(1, () => ({ seenCapacity: 80, maxNeighbours: 8, queryBurst: 1000, maintainMs: 600_000 }));
    const [a, b, f] = [await RawPeer.neighbour(x!.address, 0xa0), await RawPeer.neighbour(x!.address, 0xb0), await RawPeer.neighbour(x!.address, 0xf0)];
    try {
      await until(() => x!.node.stats().neighbours === 3, 'a, b and f are neighbours');
      const stop = new AbortController();
      const mine = x!.node.search(parseQuery('song'), { ttl: 2, waitMs: 10_000, signal: stop.signal, onHit: () => stop.abort() });
      const own = await b.next('query');
      a.send(query(1, 3)); // a search of a's, relayed through x to b and f
      assert.deepEqual((await b.next('query')).id, id(1));
      for (let n = 1000; n < 1100; n++) f.send(query(n, 1)); // 100 fresh ids: more than the whole table
      await until(() => x!.node.stats().queries === 101, 'x handled a query and f\'s 100');
      b.send({ t: 'hit', id: id(1), hops: 2, sources: [source(1)] });
      assert.deepEqual((await a.next('hit')).sources, [source(1)], 'the hit for a\'s search goes back to a');
      b.send({ t: 'hit', id: own.id, hops: 1, sources: [source(2)] });
      assert.deepEqual((await mine).hits, [{ source: source(2), hops: 1 }], 'the hit for our own search is delivered');
      assert.equal(x!.node.stats().dropped, 0);
    } finally {
      for (const p of [a, b, f]) p.close();
      await x!.node.close();
    }
  });

  it('drops new queries over a neighbour\'s rate, and disconnects one far over it', async () => {
    const [x] = await startNodes(1, () => ({ maintainMs: 600_000 })); // 20 new queries a second, 40 at once
    const [a, b] = [await RawPeer.neighbour(x!.address, 0xa1), await RawPeer.neighbour(x!.address, 0xb1)];
    try {
      await until(() => x!.node.stats().neighbours === 2, 'a and b are neighbours');
      for (let n = 0; n < 300; n++) a.send(query(5000 + n, 2));
      await until(() => a.isClosed, 'x cuts a off');
      const st = x!.node.stats();
      // 40 at once, then dropped; the 161st dropped piles over 4 x 40 and cuts a off.
      assert.ok(st.rateLimited >= 161 && st.rateLimited <= 170, `rateLimited ${st.rateLimited}`);
      assert.equal(st.badPeers, 1);
      await sleep(50);
      const relayed = b.all('query').length;
      assert.ok(relayed >= 40 && relayed <= 45, `b got ${relayed} queries: the burst, and what came back in the meantime`);
      assert.equal(b.isClosed, false);
    } finally {
      a.close();
      b.close();
      await x!.node.close();
    }
  });

  it('takes addresses only from pongs it asked for and from byes on links it dialed', async () => {
    // Addresses on 127.0.0.1 where nothing listens (x is not meant to dial any of them in this test).
    const addr = (a: number, n: number): { host: string; port: number } => ({ host: '127.0.0.1', port: 40_000 + 1000 * a + n });
    const [x] = await startNodes(1, () => ({ pingMs: 100, maintainMs: 600_000 }));
    const peers: RawPeer[] = [];
    try {
      // What x knows, as it tells a neighbour that asks.
      const asker = await RawPeer.neighbour(x!.address, 0x52);
      asker.answerPings = true;
      peers.push(asker);
      const known = async (): Promise<string[]> => {
        asker.send({ t: 'ping' });
        return (await asker.next('pong')).addresses.map(formatEndpoint);
      };
      // A stranger connects and says bye before hello, naming 20 third parties.
      const stranger = await RawPeer.connect(x!.address);
      peers.push(stranger);
      stranger.send({ t: 'bye', addresses: Array.from({ length: 20 }, (_, i) => addr(0, i + 1)), reason: 'full' });
      await stranger.closed;
      // A neighbour sends a pong nobody asked for.
      const n = await RawPeer.neighbour(x!.address, 0x51);
      peers.push(n);
      n.send({ t: 'pong', addresses: [addr(3, 1)] });
      await until(() => x!.node.stats().received.pong >= 1, 'x has the pong');
      assert.deepEqual(await known(), [], 'x took none of those addresses');
      // x's keep-alive asks n; n answers twice.
      await n.next('ping');
      n.send({ t: 'pong', addresses: [addr(1, 1)] });
      n.send({ t: 'pong', addresses: [addr(2, 1)] });
      n.answerPings = true;
      await until(() => x!.node.stats().received.pong >= 3, 'x has the other two pongs');
      assert.deepEqual(await known(), [formatEndpoint(addr(1, 1))], 'only the pong that answered a ping of x counts');
      assert.equal(x!.node.stats().unsolicited, 3, 'the bye before hello, the pong before any ping, the second pong');
      assert.equal(n.isClosed, false, 'unwelcome pongs do not cost a neighbour its link');
    } finally {
      for (const p of peers) p.close();
      await x!.node.close();
    }
  });

  it('stops joining at once when the signal aborts', async () => {
    const hung = await silentServer();
    const node = new FloodNode({ maintainMs: 600_000 }); // waits 5 s for a hello by default
    try {
      const stop = new AbortController();
      const t = performance.now();
      const joining = node.join([hung.address], { signal: stop.signal });
      setTimeout(() => stop.abort(), 100);
      await assert.rejects(joining, (e: unknown) => e instanceof Error && e.name === 'AbortError');
      assert.ok(performance.now() - t < 1_500, `join took ${Math.round(performance.now() - t)} ms after the abort`);
      await assert.rejects(node.join([hung.address], { signal: stop.signal }), (e: unknown) => e instanceof Error && e.name === 'AbortError');
    } finally {
      await node.close();
      await hung.close();
    }
  });
});
