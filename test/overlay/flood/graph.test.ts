import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { floodCost } from '../../../src/overlay/flood/index.js';

/*
 * The analytical message count (graph.ts) on graphs small enough to count
 * by hand: the origin sends deg(origin) copies, every other node within
 * TTL - 1 hops sends deg - 1, nodes at exactly TTL hops only receive.
 */

/** An undirected graph from its edges. */
function graph(edges: readonly [string, string][]): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const [a, b] of edges) {
    g.set(a, [...(g.get(a) ?? []), b]);
    g.set(b, [...(g.get(b) ?? []), a]);
  }
  return g;
}

const cost = (g: Map<string, string[]>, origin: string, ttl: number): [number, number] => {
  const c = floodCost(g, origin, ttl);
  return [c.queryMessages, c.reached];
};

describe('floodCost', () => {
  it('a line a-b-c-d-e', () => {
    const line = graph([['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e']]);
    // From an end: one copy per hop, until the far end (which has nobody else to tell).
    assert.deepEqual([1, 2, 3, 4, 5].map((t) => cost(line, 'a', t)), [[1, 1], [2, 2], [3, 3], [4, 4], [4, 4]]);
    // From the middle: 2 copies, then b and d each tell one more; a and e tell nobody.
    assert.deepEqual([1, 2, 3].map((t) => cost(line, 'c', t)), [[2, 2], [4, 4], [4, 4]]);
    assert.deepEqual([...floodCost(line, 'a', 1).distances], [['a', 0], ['b', 1], ['c', 2], ['d', 3], ['e', 4]]);
  });

  it('a ring of 6: the two fronts meet and the last copies are duplicates', () => {
    const ring = graph([['0', '1'], ['1', '2'], ['2', '3'], ['3', '4'], ['4', '5'], ['5', '0']]);
    // TTL 1: 2. TTL 2: + 1 from each of 1 and 5. TTL 3: + 1 from 2 and 4 (both reach 3).
    // TTL 4: + 1 from 3 (to whichever of 2 and 4 it did not hear from first). Nothing more after.
    assert.deepEqual([1, 2, 3, 4, 5, 7].map((t) => cost(ring, '0', t)), [[2, 2], [4, 4], [6, 5], [7, 5], [7, 5], [7, 5]]);
  });

  it('a star with 5 leaves', () => {
    const star = graph([1, 2, 3, 4, 5].map((n): [string, string] => ['hub', `leaf${n}`]));
    assert.deepEqual([1, 2].map((t) => cost(star, 'hub', t)), [[5, 5], [5, 5]]);
    // From a leaf: 1 to the hub, then the hub tells the 4 other leaves.
    assert.deepEqual([1, 2, 3].map((t) => cost(star, 'leaf1', t)), [[1, 1], [5, 5], [5, 5]]);
  });

  it('a complete graph of 5', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const k5 = graph(names.flatMap((x, i) => names.slice(i + 1).map((y): [string, string] => [x, y])));
    // 4 copies, then each of the 4 neighbours sends 3: 16, of which 12 are duplicates.
    assert.deepEqual([1, 2, 3].map((t) => cost(k5, 'c', t)), [[4, 4], [16, 4], [16, 4]]);
  });

  it('sends nothing with TTL 0 or from an isolated node, and leaves unreachable nodes out', () => {
    const g = graph([['a', 'b']]);
    g.set('z', []);
    assert.deepEqual(cost(g, 'a', 0), [0, 0]);
    assert.deepEqual(cost(g, 'z', 3), [0, 0]);
    assert.equal(floodCost(g, 'a', 3).distances.has('z'), false);
  });
});
