import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encode } from '../../src/bencode/index.js';
import { DhtNode, generateKeys, idHex, immutableTarget, randomId } from '../../src/dht/index.js';
import { bindUdp, seededRandom } from '../../src/net/index.js';

/*
 * A small real network: 40 nodes on 127.0.0.1, each on its own UDP port,
 * joined through the first. Lookups, announces and BEP 44 items go through
 * real sockets and the real node code.
 */

const COUNT = 40;

describe('a DHT of 40 nodes on loopback', () => {
  const nodes: DhtNode[] = [];

  before(async () => {
    const random = seededRandom(42);
    for (let i = 0; i < COUNT; i++) {
      const socket = await bindUdp('127.0.0.1', 0);
      nodes.push(new DhtNode({ socket, random, queryRate: Infinity, ...(i > 0 && { bootstrap: [nodes[0]!.local] }) }));
    }
    for (const n of nodes.slice(1)) await n.bootstrap();
    // A second pass lets the early joiners learn about the later ones.
    for (const n of nodes) await n.findNode(n.id);
  });

  after(() => {
    for (const n of nodes) n.close();
  });

  it('fills routing tables', () => {
    const sizes = nodes.map((n) => n.tableSize);
    assert.ok(Math.min(...sizes) >= 5, `a node knows only ${Math.min(...sizes)} nodes`);
    assert.ok(sizes.reduce((a, b) => a + b) / sizes.length >= 10, `nodes know ${sizes.join(",")}`);
  });

  it('find_node converges on the closest nodes there are', async () => {
    const target = randomId(seededRandom(7));
    const truth = [...nodes].sort((a, b) => {
      for (let i = 0; i < 20; i++) {
        const d = (a.id[i]! ^ target[i]!) - (b.id[i]! ^ target[i]!);
        if (d !== 0) return d;
      }
      return 0;
    });
    const result = await nodes[5]!.findNode(target);
    assert.deepEqual(
      result.closest.slice(0, 8).map((c) => idHex(c.id)),
      truth.slice(0, 8).map((n) => idHex(n.id)).filter((h) => h !== idHex(nodes[5]!.id)).slice(0, 8),
    );
  });

  it('get_peers finds a peer another node announced', async () => {
    const infoHash = randomId(seededRandom(8));
    const announced = await nodes[3]!.announce(infoHash, 51413);
    assert.ok(announced.stored >= 4, `stored on ${announced.stored} nodes`);
    const found = await nodes[30]!.getPeers(infoHash);
    assert.deepEqual(found.peers, [{ host: '127.0.0.1', port: 51413 }]);
  });

  it('an immutable item put by one node is read by another', async () => {
    const value = encode('Hello World!');
    const put = await nodes[7]!.putImmutable(value);
    assert.equal(idHex(put.target), idHex(immutableTarget(value)));
    assert.ok(put.stored >= 4);
    const got = await nodes[22]!.getImmutable(put.target);
    assert.deepEqual(got.item, value);
  });

  it('a mutable item: the newest seq wins', async () => {
    const keys = generateKeys();
    const salt = new TextEncoder().encode('profile');
    const first = await nodes[9]!.putMutable(keys, encode('v1'), { salt });
    assert.equal(first.seq, 1);
    const second = await nodes[11]!.putMutable(keys, encode('v2'), { salt });
    assert.equal(second.seq, 2);
    const got = await nodes[33]!.getMutable(keys.publicKey, salt);
    assert.equal(got.item?.seq, 2);
    assert.deepEqual(got.item?.v, encode('v2'));
  });
});
