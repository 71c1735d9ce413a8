import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OverlayError } from '../../../src/overlay/index.js';
import { FloodNode } from '../../../src/overlay/flood/index.js';
import { closeAll, graphOf, RawPeer, startNodes, waitSettled } from './helpers.js';

/*
 * Joining and leaving on real sockets: a full node turns newcomers away
 * with addresses to try (Gnutella 0.6's X-Try) and they join through those;
 * a node that dials itself, or two nodes that dial each other at once, end
 * up with no link to themselves and one link between them; a node that
 * leaves tells its neighbours where else to go.
 */

describe('joining and leaving', () => {
  it('a full node refuses a newcomer with addresses, and the newcomer joins through them', async () => {
    const nodes = await startNodes(3, (i) => ({ targetNeighbours: 1, maxNeighbours: i === 0 ? 1 : 2, maintainMs: 600_000 }));
    const [a, b, c] = [nodes[0]!, nodes[1]!, nodes[2]!];
    try {
      await b.node.join([a.address]);
      const raw = await RawPeer.connect(a.address);
      await raw.closed;
      assert.deepEqual(raw.received, [{ t: 'bye', addresses: [b.address], reason: 'full' }]);
      assert.equal(await c.node.join([a.address]), 1);
      assert.deepEqual(c.node.neighbours(), [b.address]);
    } finally {
      await closeAll(nodes);
    }
  });

  it('a node that dials itself notices and does not link to itself', async () => {
    const [n] = await startNodes(1, () => ({ maintainMs: 600_000 }));
    try {
      await assert.rejects(n!.node.join([n!.address]), (e: unknown) => e instanceof OverlayError && e.code === 'unreachable');
      assert.equal(n!.node.stats().neighbours, 0);
    } finally {
      await n!.node.close();
    }
  });

  it('two nodes that dial each other at once keep exactly one link', async () => {
    const nodes = await startNodes(2, () => ({ targetNeighbours: 1, maintainMs: 600_000 }));
    try {
      await Promise.all([nodes[0]!.node.join([nodes[1]!.address]), nodes[1]!.node.join([nodes[0]!.address])]);
      const graph = await waitSettled(nodes);
      assert.deepEqual(graph, new Map([[nodes[0]!.key, [nodes[1]!.key]], [nodes[1]!.key, [nodes[0]!.key]]]));
      assert.deepEqual(nodes.map((s) => s.node.stats().neighbours), [1, 1]);
    } finally {
      await closeAll(nodes);
    }
  });

  it('a node that leaves says bye with the addresses of its other neighbours', async () => {
    const nodes = await startNodes(2, () => ({ maintainMs: 600_000 }));
    const [b, c] = [nodes[0]!, nodes[1]!];
    try {
      await c.node.join([b.address]);
      const raw = await RawPeer.neighbour(b.address, 0x42);
      await b.node.close();
      await raw.closed;
      assert.deepEqual(raw.all('bye'), [{ t: 'bye', addresses: [c.address], reason: 'leaving' }]);
      assert.deepEqual(graphOf([c]).get(c.key), []);
    } finally {
      await closeAll(nodes);
    }
  });

  it('refuses to search above maxTtl, or with nobody to ask', async () => {
    const n = new FloodNode({ maxTtl: 5, maintainMs: 600_000 });
    try {
      await assert.rejects(n.search({ kind: 'keywords', keywords: ['x'] }, { ttl: 6, waitMs: 0 }), RangeError);
      await assert.rejects(n.search({ kind: 'keywords', keywords: ['x'] }, { ttl: 5, waitMs: 0 }), (e: unknown) => e instanceof OverlayError && e.code === 'unreachable');
      await assert.rejects(n.search({ kind: 'keywords', keywords: [] }, { ttl: 5, waitMs: 0 }), (e: unknown) => e instanceof OverlayError && e.code === 'bad-message');
    } finally {
      await n.close();
    }
  });
});
