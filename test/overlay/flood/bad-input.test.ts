import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '../../../src/bencode/index.js';
import { parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { FloodNode, type FloodMessage } from '../../../src/overlay/flood/index.js';
import { RawPeer, startNodes, until, type Started } from './helpers.js';

/*
 * A real node (x) on a loopback port, fed by raw sockets: garbage, an
 * oversized frame, messages out of order, replayed queries, forged hits and
 * a TTL of 200. Peers that break the protocol are dropped; messages that
 * are merely unwelcome are dropped and counted; x stays up and still
 * relays a normal search between two real nodes afterwards.
 */

const FILE: SharedFile = { hash: '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12', name: 'quick-brown-fox.txt', size: 43 };
const FILES_PORT = 18080;
const id = (n: number): Uint8Array => new Uint8Array(16).fill(n);
const query = (n: number, ttl: number): FloodMessage => ({ t: 'query', id: id(n), ttl, hops: 1, query: parseQuery('nothing matches this') });

describe('a flood node fed bad input', () => {
  let x: Started;
  let y: Started;
  let a: RawPeer;
  let b: RawPeer;

  before(async () => {
    const started = await startNodes(2, (i) => ({ maxTtl: 7, maintainMs: 600_000, ...(i === 1 && { files: [FILE], filesPort: FILES_PORT }) }));
    x = started[0]!;
    y = started[1]!;
    await y.node.join([x.address]);
  });

  after(async () => {
    a?.close();
    b?.close();
    await Promise.all([x.node.close(), y.node.close()]);
  });

  it('drops a peer that sends garbage, an oversized frame length, or messages out of order', async () => {
    const garbage = await RawPeer.connect(x.address);
    garbage.sendBytes(Uint8Array.of(0, 0, 0, 5, ...Buffer.from('hello')));
    const huge = await RawPeer.connect(x.address);
    huge.sendBytes(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
    const notDict = await RawPeer.connect(x.address);
    const body = encode([1, 2]);
    notDict.sendBytes(Uint8Array.of(0, 0, 0, body.length, ...body));
    const early = await RawPeer.connect(x.address);
    early.send(query(1, 3));
    const twice = await RawPeer.neighbour(x.address, 0x20);
    twice.send({ t: 'hello', port: 0, id: id(0x20) });
    await Promise.all([garbage.closed, huge.closed, notDict.closed, early.closed, twice.closed]);
    assert.equal(x.node.stats().badPeers, 5);
    assert.equal(x.node.stats().neighbours, 1, 'y is still a neighbour');
  });

  it('drops a replayed query id as a duplicate and does not forward it again', async () => {
    a = await RawPeer.neighbour(x.address, 0xa1);
    b = await RawPeer.neighbour(x.address, 0xb1);
    await until(() => x.node.stats().neighbours === 3, 'x has y, a and b as neighbours');
    a.send(query(1, 3));
    const first = await b.next('query');
    assert.deepEqual([first.id, first.ttl, first.hops], [id(1), 2, 2]);
    const duplicates = x.node.stats().duplicates;
    a.send(query(1, 3));
    b.send(query(1, 5)); // the same id from another neighbour is no different
    a.send(query(2, 3));
    // The next copy b gets is the fresh id: the replays went nowhere (one connection keeps its order).
    assert.deepEqual((await b.next('query')).id, id(2));
    await until(() => x.node.stats().duplicates === duplicates + 2, 'both replays are counted as duplicates');
  });

  it('lowers a TTL of 200 to maxTtl', async () => {
    a.send({ t: 'query', id: id(3), ttl: 200, hops: 1, query: parseQuery('nothing') });
    const m = await b.next('query');
    assert.deepEqual([m.id, m.ttl, m.hops], [id(3), 6, 2]);
  });

  it('relays a hit only back along the path of its query', async () => {
    const dropped = x.node.stats().dropped;
    const sources = [{ ...FILE, address: { host: '127.0.0.1', port: 9 } }];
    a.send({ t: 'hit', id: id(99), hops: 1, sources }); // an id never seen
    a.send({ t: 'hit', id: id(1), hops: 1, sources }); // a is where query 1 came from, not where it went
    b.send({ t: 'hit', id: id(1), hops: 2, sources }); // b got query 1 from x: this one is genuine
    const hit = await a.next('hit');
    assert.deepEqual(hit, { t: 'hit', id: id(1), hops: 2, sources });
    await until(() => x.node.stats().dropped === dropped + 2, 'the two forged hits are counted as dropped');
    assert.equal(a.isClosed || b.isClosed, false, 'unwelcome messages do not cost a peer its link');
  });

  it('stays up: a normal search through it still finds the file', async () => {
    // A leaf (it does not listen) with x as its only neighbour: y is two hops away.
    const z = new FloodNode({ targetNeighbours: 1, maintainMs: 600_000 });
    try {
      await z.join([x.address]);
      const stop = new AbortController();
      const { hits } = await z.search(parseQuery('brown fox'), { ttl: 3, waitMs: 5_000, signal: stop.signal, onHit: () => stop.abort() });
      assert.deepEqual(hits, [{ source: { ...FILE, address: { host: '127.0.0.1', port: FILES_PORT } }, hops: 2 }]);
    } finally {
      await z.close();
    }
    assert.equal(a.error ?? b.error, undefined, 'x only ever sent well-formed messages');
  });
});
