import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueryRouter } from '../../../src/overlay/flood/index.js';

/*
 * The forwarding rule with no sockets (router.ts): duplicates go nowhere,
 * TTL 1 stops at the neighbours, hits follow the reverse path and nothing
 * else, and the memory of ids is bounded by count and by age, without
 * letting one neighbour push out our own searches or others' reverse paths.
 */

const id = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (n + i) & 0xff);

describe('QueryRouter', () => {
  it('forwards a new query to every neighbour but the sender, one TTL down and one hop up', () => {
    const r = new QueryRouter();
    assert.deepEqual(r.onQuery(id(1), 'a', 3, 1, ['a', 'b', 'c'], 0), { kind: 'new', forwardTo: ['b', 'c'], ttl: 2, hops: 2, lowered: false });
  });

  it('drops a query whose id it has seen, whoever sends it', () => {
    const r = new QueryRouter();
    r.onQuery(id(1), 'a', 3, 1, ['a', 'b', 'c'], 0);
    assert.deepEqual(r.onQuery(id(1), 'b', 2, 2, ['a', 'b', 'c'], 1), { kind: 'duplicate' });
    assert.deepEqual(r.onQuery(id(1), 'a', 3, 1, ['a', 'b', 'c'], 2), { kind: 'duplicate' });
  });

  it('does not forward a query that arrives with TTL 1, but remembers it', () => {
    const r = new QueryRouter();
    const d = r.onQuery(id(1), 'a', 1, 4, ['a', 'b'], 0);
    assert.equal(d.kind, 'new');
    assert.deepEqual(d.kind === 'new' && d.forwardTo, []);
    assert.deepEqual(r.onQuery(id(1), 'b', 1, 4, ['a', 'b'], 0), { kind: 'duplicate' });
  });

  it('lowers a TTL above maxTtl', () => {
    const r = new QueryRouter({ maxTtl: 7 });
    assert.deepEqual(r.onQuery(id(1), 'a', 200, 1, ['a', 'b'], 0), { kind: 'new', forwardTo: ['b'], ttl: 6, hops: 2, lowered: true });
    assert.throws(() => new QueryRouter({ maxTtl: 0 }), RangeError);
  });

  it('sends a hit back to the neighbour the query came from, only from a neighbour it went to', () => {
    const r = new QueryRouter();
    r.onQuery(id(1), 'a', 3, 1, ['a', 'b', 'c'], 0);
    assert.deepEqual(r.onHit(id(1), 'b', 0), { kind: 'forward', to: 'a' });
    assert.deepEqual(r.onHit(id(1), 'c'), { kind: 'forward', to: 'a' });
    // The sender of the query never got it from us; a neighbour that joined later never did either.
    assert.equal(r.onHit(id(1), 'a', 0).kind, 'drop');
    assert.equal(r.onHit(id(1), 'd', 0).kind, 'drop');
    assert.equal(r.onHit(id(2), 'b', 0).kind, 'drop');
  });

  it('drops every hit for a query it did not forward (TTL 1)', () => {
    const r = new QueryRouter();
    r.onQuery(id(1), 'a', 1, 1, ['a', 'b'], 0);
    assert.equal(r.onHit(id(1), 'b', 0).kind, 'drop');
  });

  it('delivers hits for its own searches, from the neighbours it asked', () => {
    const r = new QueryRouter();
    assert.deepEqual(r.startSearch(id(9), ['a', 'b', 'a'], 0), ['a', 'b']);
    assert.deepEqual(r.onHit(id(9), 'a', 0), { kind: 'deliver' });
    assert.equal(r.onHit(id(9), 'c', 0).kind, 'drop');
    // Our own query coming back around a loop is a duplicate, never relayed.
    assert.deepEqual(r.onQuery(id(9), 'b', 5, 3, ['a', 'b'], 0), { kind: 'duplicate' });
  });

  it('forgets the least recently used id past its capacity', () => {
    const r = new QueryRouter({ capacity: 3 });
    for (const n of [1, 2, 3]) r.onQuery(id(n), 'a', 2, 1, ['a', 'b'], 0);
    r.onQuery(id(1), 'b', 2, 1, ['a', 'b'], 0); // a duplicate: 1 is now the most recently used
    r.onQuery(id(4), 'a', 2, 1, ['a', 'b'], 0);
    assert.equal(r.size, 3);
    assert.equal(r.has(id(2)), false);
    assert.equal(r.has(id(1)), true);
    assert.equal(r.onQuery(id(2), 'a', 2, 1, ['a', 'b'], 0).kind, 'new');
    assert.equal(r.has(id(3)), false);
  });

  it('forgets an id expiryMs after it was first seen', () => {
    const r = new QueryRouter({ expiryMs: 1000 });
    r.onQuery(id(1), 'a', 3, 1, ['a', 'b'], 0);
    assert.equal(r.onQuery(id(1), 'b', 3, 1, ['a', 'b'], 999).kind, 'duplicate');
    assert.equal(r.onHit(id(1), 'b', 999).kind, 'forward');
    assert.equal(r.onHit(id(1), 'b', 1000).kind, 'drop');
    assert.equal(r.onQuery(id(1), 'b', 3, 1, ['a', 'b'], 1000).kind, 'new');
  });

  it('keeps our own searches apart: other nodes\' queries never push them out', () => {
    const r = new QueryRouter({ capacity: 3 });
    r.startSearch(id(200), ['a', 'b'], 0);
    for (let n = 0; n < 20; n++) r.onQuery(id(n), 'a', 2, 1, ['a', 'b'], n);
    assert.deepEqual(r.onHit(id(200), 'b', 20), { kind: 'deliver' });
    assert.equal(r.size, 4, '3 ids of others and ours');
    assert.deepEqual(r.onQuery(id(200), 'a', 3, 2, ['a', 'b'], 21), { kind: 'duplicate' });
  });

  it('keeps our own searches for ownCapacity and expiryMs', () => {
    const r = new QueryRouter({ ownCapacity: 2, expiryMs: 1000 });
    for (const n of [1, 2, 3]) r.startSearch(id(n), ['a'], n);
    assert.deepEqual([1, 2, 3].map((n) => r.has(id(n), 10)), [false, true, true]);
    assert.equal(r.onHit(id(3), 'a', 1003).kind, 'drop');
  });

  it('gives each neighbour a quota: one that floods fresh ids pushes out only its own', () => {
    const r = new QueryRouter({ capacity: 10, neighbourQuota: 3 });
    r.onQuery(id(1), 'a', 3, 1, ['a', 'b', 'f'], 0);
    for (let n = 10; n < 40; n++) r.onQuery(id(n), 'f', 3, 1, ['a', 'b', 'f'], n);
    assert.equal(r.sizeFrom('f'), 3);
    assert.deepEqual([37, 38, 39].map((n) => r.has(id(n))), [true, true, true], 'f keeps its newest');
    assert.deepEqual(r.onHit(id(1), 'b', 40), { kind: 'forward', to: 'a' }, 'a\'s reverse path survives');
  });

  it('when full anyway (ids of closed links), the neighbour with the most ids loses its least recently used', () => {
    const r = new QueryRouter({ capacity: 4, neighbourQuota: 3 });
    r.onQuery(id(4), 'b', 3, 1, ['a', 'b'], 0); // the least recently used of all, but b has only this one
    for (const n of [1, 2, 3]) r.onQuery(id(n), 'a', 3, 1, ['a', 'b'], 0);
    r.onQuery(id(5), 'c', 3, 1, ['a', 'c'], 0);
    assert.equal(r.size, 4);
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => r.has(id(n))), [false, true, true, true, true]);
  });

  it('sweeps expired ids out as new ones arrive', () => {
    const r = new QueryRouter({ expiryMs: 1000 });
    for (let n = 0; n < 50; n++) r.onQuery(id(n), 'a', 3, 1, ['a'], n);
    r.onQuery(id(200), 'a', 3, 1, ['a'], 5000);
    assert.equal(r.size, 1);
  });
});
