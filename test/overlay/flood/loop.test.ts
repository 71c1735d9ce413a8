import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseQuery, type SharedFile } from '../../../src/overlay/index.js';
import { floodCost } from '../../../src/overlay/flood/index.js';
import { closeAll, queryTotals, startNodes, until, waitSettled, type Started } from './helpers.js';

/*
 * A ring of six real nodes: a query with a TTL larger than the ring goes
 * round both ways and meets itself. Each node forwards it once, the copies
 * that come round again are dropped as duplicates, the flood ends, and the
 * one node that has the file answers once.
 */

const FILE: SharedFile = { hash: 'de9f2c7fd25e1b3afad3e85a0bd17d9b100db4b3', name: 'ring-tone.ogg', size: 7 };

describe('a ring of 6 flood nodes', () => {
  let nodes: Started[] = [];

  before(async () => {
    // One neighbour wanted, two allowed: each join adds exactly the link asked for.
    nodes = await startNodes(6, (i) => ({ targetNeighbours: 1, maxNeighbours: 2, maintainMs: 600_000, ...(i === 3 && { files: [FILE], filesPort: 18081 }) }));
    for (let i = 1; i < 6; i++) await nodes[i]!.node.join([nodes[i - 1]!.address]);
    await nodes[0]!.node.join([nodes[5]!.address]);
  });

  after(() => closeAll(nodes));

  it('forwards each query at most once per node, and the flood ends', async () => {
    const graph = await waitSettled(nodes);
    for (const [i, s] of nodes.entries()) assert.deepEqual(graph.get(s.key), [nodes[(i + 5) % 6]!.key, nodes[(i + 1) % 6]!.key].sort(), `node ${i} sits between its two ring neighbours`);
    const sentBefore = nodes.map((s) => s.node.stats().sent.query);
    const stop = new AbortController();
    const { hits } = await nodes[0]!.node.search(parseQuery('ring tone'), { ttl: 7, waitMs: 5_000, signal: stop.signal, onHit: () => stop.abort() });
    await until(() => queryTotals(nodes).sent === queryTotals(nodes).received, 'every copy has arrived');
    assert.deepEqual(hits, [{ source: { ...FILE, address: { host: '127.0.0.1', port: 18081 } }, hops: 3 }]);
    // The origin tells both neighbours; every other node passes it on once, to the side it did not come from.
    assert.deepEqual(
      nodes.map((s, i) => s.node.stats().sent.query - sentBefore[i]!),
      [2, 1, 1, 1, 1, 1],
    );
    assert.equal(queryTotals(nodes).sent - sentBefore.reduce((a, b) => a + b), floodCost(graph, nodes[0]!.key, 7).queryMessages);
    // 7 copies reached 5 nodes: two came round again.
    assert.equal(
      nodes.reduce((n, s) => n + s.node.stats().duplicates, 0),
      2,
    );
    assert.equal(nodes[3]!.node.stats().answered, 1);
  });
});
