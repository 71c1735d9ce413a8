import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { commonPrefixLength, compareDistance, idHex, randomId, randomIdWithPrefix, type Contact, type NodeId } from '../../src/dht/node-id.js';
import { GOOD_MS, K, nodeState, REFRESH_MS, RoutingTable, type TableEntry } from '../../src/dht/routing-table.js';
import { seededRandom, type Random } from '../../src/net/index.js';

/*
 * The routing table of BEP 5 ("Routing Table"), driven as a pure policy with
 * plain numbers for `now`.
 */

const MIN = 60_000;

/** Contacts with distinct addresses. */
function contacts(): (id: NodeId) => Contact {
  let n = 0;
  return (id) => {
    n++;
    return { id, host: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 1000 + (n % 50_000) };
  };
}

/** A node whose id shares exactly `prefix` leading bits with `own`. */
function at(own: NodeId, prefix: number, random: Random, contact: (id: NodeId) => Contact): Contact {
  return contact(randomIdWithPrefix(own, prefix, random));
}

/** The buckets, read from the table's private state to check structural invariants. */
function buckets(t: RoutingTable): Contact[][] {
  return (t as unknown as { buckets: { entries: TableEntry[] }[] }).buckets.map((b) => b.entries.map((e) => e.contact));
}

const hexes = (cs: readonly Contact[]): string[] => cs.map((c) => idHex(c.id)).sort();

describe('nodeState (BEP 5)', () => {
  const entry = (e: Partial<TableEntry>): TableEntry => ({ contact: { id: new Uint8Array(20), host: '1.1.1.1', port: 1 }, lastResponse: -Infinity, lastSeen: 0, failures: 0, ...e });

  it('good: answered within 15 minutes', () => {
    assert.equal(nodeState(entry({ lastResponse: 0 }), GOOD_MS - 1), 'good');
    assert.equal(nodeState(entry({ lastResponse: 0 }), GOOD_MS), 'questionable');
  });
  it('good: ever answered and sent a query within 15 minutes', () => {
    assert.equal(nodeState(entry({ lastResponse: 0, lastSeen: 20 * MIN }), 30 * MIN), 'good');
    assert.equal(nodeState(entry({ lastResponse: -Infinity, lastSeen: 20 * MIN }), 30 * MIN), 'questionable');
  });
  it('bad: failed twice in a row, or once without ever answering', () => {
    assert.equal(nodeState(entry({ lastResponse: 0, failures: 1 }), 1), 'good');
    assert.equal(nodeState(entry({ lastResponse: 0, failures: 2 }), 1), 'bad');
    assert.equal(nodeState(entry({ failures: 1 }), 1), 'bad');
  });
});

describe('RoutingTable', () => {
  it('ignores our own id', () => {
    const own = randomId(seededRandom(1));
    const t = new RoutingTable(own, 0);
    assert.equal(t.heard({ id: own.slice(), host: '10.0.0.1', port: 1 }, 0, true), undefined);
    assert.equal(t.size, 0);
  });

  it('a full bucket far from our id does not split, and keeps its first K good nodes', () => {
    const random = seededRandom(2);
    const own = randomId(random);
    const contact = contacts();
    const t = new RoutingTable(own, 0);
    const far = Array.from({ length: 50 }, () => at(own, 0, random, contact));
    for (const c of far) assert.equal(t.heard(c, 0, true), undefined);
    assert.equal(t.size, K);
    // One split only: the first bucket (bit 0 differs) and the bucket with our id, empty.
    assert.equal(t.bucketCount, 2);
    assert.deepEqual(hexes(t.contacts()), hexes(far.slice(0, K)));
  });

  it('splits only the bucket that covers our id', () => {
    const random = seededRandom(3);
    const own = randomId(random);
    const contact = contacts();
    const t = new RoutingTable(own, 0);
    // K nodes at every distance 0..19: each bucket fills, the last one splits.
    for (let p = 0; p < 20; p++) for (let i = 0; i < K; i++) t.heard(at(own, p, random, contact), 0, true);
    assert.equal(t.size, 20 * K);
    const bs = buckets(t);
    for (let i = 0; i < bs.length - 1; i++) {
      assert.equal(bs[i]!.length, K, `bucket ${i}`);
      for (const c of bs[i]!) assert.equal(commonPrefixLength(c.id, own), i);
    }
    for (const c of bs[bs.length - 1]!) assert.ok(commonPrefixLength(c.id, own) >= bs.length - 1);
  });

  it('never holds more than K per bucket, and each bucket holds its range (property)', () => {
    const op = fc.record({
      prefix: fc.integer({ min: 0, max: 24 }),
      responded: fc.boolean(),
      fail: fc.nat(3),
      dt: fc.integer({ min: 0, max: 5 * MIN }),
    });
    fc.assert(
      fc.property(fc.integer(), fc.array(op, { maxLength: 300 }), (seed, ops) => {
        const random = seededRandom(seed);
        const own = randomId(random);
        const contact = contacts();
        const t = new RoutingTable(own, 0);
        let now = 0;
        for (const o of ops) {
          now += o.dt;
          const c = at(own, o.prefix, random, contact);
          t.heard(c, now, o.responded);
          for (let i = 0; i < o.fail; i++) t.failed(c.id, now);
        }
        const bs = buckets(t);
        assert.ok(bs.length <= 160);
        let size = 0;
        bs.forEach((entries, i) => {
          assert.ok(entries.length <= K, `bucket ${i} holds ${entries.length}`);
          size += entries.length;
          for (const c of entries) {
            const cpl = commonPrefixLength(c.id, own);
            assert.ok(i === bs.length - 1 ? cpl >= i : cpl === i, `bucket ${i} holds a node with prefix ${cpl}`);
          }
        });
        assert.equal(t.size, size);
        assert.equal(new Set(t.contacts().map((c) => idHex(c.id))).size, size, 'an id twice');
        assert.equal(new Set(t.contacts().map((c) => `${c.host}:${c.port}`)).size, size, 'an address twice');
      }),
      { numRuns: 200 },
    );
  });

  describe('a full bucket', () => {
    /** A table whose bucket 0 holds K nodes that answered at t = 0..K-1 ms, and does not split any more. */
    function fullBucket(seed: number) {
      const random = seededRandom(seed);
      const own = randomId(random);
      const contact = contacts();
      const t = new RoutingTable(own, 0);
      const old = Array.from({ length: K }, (_, i) => {
        const c = at(own, 0, random, contact);
        t.heard(c, i, true);
        return c;
      });
      // One more near node splits the single bucket; bucket 0 is then final.
      t.heard(at(own, 5, random, contact), K, true);
      assert.equal(t.bucketCount, 2);
      const newcomer = (): Contact => at(own, 0, random, contact);
      return { t, old, newcomer };
    }

    it('of good nodes: nobody is evicted, whatever comes', () => {
      const { t, old, newcomer } = fullBucket(10);
      const now = GOOD_MS - 1; // the oldest answered at 0: all still good
      for (let i = 0; i < 100; i++) {
        assert.equal(t.heard(newcomer(), now, true), undefined);
        assert.equal(t.heard(newcomer(), now, false), undefined);
      }
      // A good node that fails once is still good (it answered within 15 minutes).
      t.failed(old[0]!.id, now);
      assert.equal(t.heard(newcomer(), now, true), undefined);
      for (const c of old) assert.ok(t.has(c.id));
      assert.equal(t.size, K + 1);
    });

    it('with questionable nodes: the least recently seen is returned to ping; failing twice promotes the newest replacement', () => {
      const { t, old, newcomer } = fullBucket(11);
      const now = 16 * MIN; // all K questionable
      const a = newcomer();
      assert.deepEqual(t.heard(a, now, true), old[0]);
      assert.ok(!t.has(a.id));
      // The first miss is forgiven (BEP 5: "try once more before discarding").
      t.failed(old[0]!.id, now);
      assert.ok(t.has(old[0]!.id));
      const b = newcomer();
      assert.deepEqual(t.heard(b, now + 1, true), old[0]);
      t.failed(old[0]!.id, now + 1);
      assert.ok(!t.has(old[0]!.id));
      assert.ok(t.has(b.id), 'the newest replacement takes the place');
      assert.ok(!t.has(a.id));
      // The older replacement is still waiting: it takes the next place that frees up.
      t.failed(old[1]!.id, now + 2);
      assert.ok(t.has(old[1]!.id));
      t.failed(old[1]!.id, now + 2);
      assert.ok(!t.has(old[1]!.id));
      assert.ok(t.has(a.id));
      assert.equal(buckets(t)[0]!.length, K);
    });

    it('with questionable nodes: one that answers the ping stays, and the next is asked', () => {
      const { t, old, newcomer } = fullBucket(12);
      const now = 16 * MIN;
      assert.deepEqual(t.heard(newcomer(), now, true), old[0]);
      t.heard(old[0]!, now + 1, true);
      assert.deepEqual(t.heard(newcomer(), now + 2, true), old[1]);
      assert.ok(t.has(old[0]!.id));
    });

    it('does not make room for a node that only sent a query', () => {
      const { t, newcomer } = fullBucket(13);
      const c = newcomer();
      assert.equal(t.heard(c, 16 * MIN, false), undefined);
      assert.ok(!t.has(c.id));
    });

    it('replaces a bad node at once', () => {
      const random = seededRandom(14);
      const own = randomId(random);
      const contact = contacts();
      const t = new RoutingTable(own, 0);
      const cs = Array.from({ length: K }, () => at(own, 0, random, contact));
      cs.forEach((c, i) => t.heard(c, 0, i !== 3)); // cs[3] only sent a query
      t.heard(at(own, 5, random, contact), 0, true);
      t.failed(cs[3]!.id, 1); // never answered, failed once: bad
      const c = at(own, 0, random, contact);
      assert.equal(t.heard(c, 2, false), undefined);
      assert.ok(t.has(c.id));
      assert.ok(!t.has(cs[3]!.id));
    });
  });

  it('closest: sorted by XOR distance, without bad nodes (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 }), (seed, n, count) => {
        const random = seededRandom(seed);
        const own = randomId(random);
        const contact = contacts();
        const t = new RoutingTable(own, 0);
        const bad = new Set<string>();
        for (let i = 0; i < n; i++) {
          const c = contact(randomId(random));
          t.heard(c, 0, true);
          if (random() < 0.2 && t.has(c.id)) {
            t.failed(c.id, 1);
            t.failed(c.id, 1);
            if (t.has(c.id)) bad.add(idHex(c.id));
          }
        }
        const target = randomId(random);
        const got = t.closest(target, count, 2);
        const expected = t
          .contacts()
          .filter((c) => !bad.has(idHex(c.id)))
          .sort((a, b) => compareDistance(target, a.id, b.id))
          .slice(0, count);
        assert.deepEqual(got, expected);
        for (let i = 1; i < got.length; i++) assert.ok(compareDistance(target, got[i - 1]!.id, got[i]!.id) < 0);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the address it knows when the same id comes from another one', () => {
    const own = randomId(seededRandom(20));
    const id = randomId(seededRandom(21));
    const t = new RoutingTable(own, 0);
    t.heard({ id, host: '10.0.0.1', port: 1 }, 0, true);
    assert.equal(t.heard({ id: id.slice(), host: '10.6.6.6', port: 6 }, 1, true), undefined);
    assert.deepEqual(t.contacts(), [{ id, host: '10.0.0.1', port: 1 }]);
  });

  it('ignores a second id from an address it already has', () => {
    const own = randomId(seededRandom(22));
    const t = new RoutingTable(own, 0);
    const a = randomId(seededRandom(23));
    const b = randomId(seededRandom(24));
    t.heard({ id: a, host: '10.0.0.1', port: 1 }, 0, true);
    t.heard({ id: b, host: '10.0.0.1', port: 1 }, 0, true);
    assert.equal(t.size, 1);
    assert.ok(t.has(a) && !t.has(b));
  });

  it('refreshes what it knows: a node that answers again is good again', () => {
    const own = randomId(seededRandom(25));
    const t = new RoutingTable(own, 0);
    const c: Contact = { id: randomId(seededRandom(26)), host: '10.0.0.1', port: 1 };
    t.heard(c, 0, true);
    assert.deepEqual(t.questionable(GOOD_MS, 10), [c]);
    t.heard(c, GOOD_MS, true);
    assert.deepEqual(t.questionable(GOOD_MS + 1, 10), []);
  });

  it('questionable: least recently seen first, at most `max`', () => {
    const random = seededRandom(27);
    const own = randomId(random);
    const contact = contacts();
    const t = new RoutingTable(own, 0);
    const cs = Array.from({ length: 5 }, () => contact(randomId(random)));
    cs.forEach((c, i) => t.heard(c, 4 - i, true));
    assert.deepEqual(t.questionable(GOOD_MS + 10, 3), [cs[4], cs[3], cs[2]]);
  });

  it('remove forgets a node', () => {
    const own = randomId(seededRandom(28));
    const t = new RoutingTable(own, 0);
    const c: Contact = { id: randomId(seededRandom(29)), host: '10.0.0.1', port: 1 };
    t.heard(c, 0, true);
    t.remove(c.id);
    assert.ok(!t.has(c.id));
    assert.equal(t.size, 0);
  });

  it('staleBuckets: the buckets not changed for 15 minutes, once', () => {
    const random = seededRandom(30);
    const own = randomId(random);
    const contact = contacts();
    const t = new RoutingTable(own, 0);
    assert.deepEqual(t.staleBuckets(REFRESH_MS - 1), []);
    assert.deepEqual(t.staleBuckets(REFRESH_MS), [0]);
    assert.deepEqual(t.staleBuckets(REFRESH_MS), [], 'marked refreshed');
    // Fill bucket 0 and split; then touch only the bucket with our id.
    const base = 2 * REFRESH_MS;
    for (let i = 0; i < K; i++) t.heard(at(own, 0, random, contact), base, true);
    t.heard(at(own, 3, random, contact), base, true);
    assert.equal(t.bucketCount, 2);
    t.heard(at(own, 4, random, contact), base + 10 * MIN, true);
    assert.deepEqual(t.staleBuckets(base + REFRESH_MS), [0]);
    assert.deepEqual(t.staleBuckets(base + 10 * MIN + REFRESH_MS), [1]);
  });

  it('a node that answers updates its bucket, a node that only queries does not', () => {
    const random = seededRandom(31);
    const own = randomId(random);
    const t = new RoutingTable(own, 0);
    const c: Contact = { id: randomId(random), host: '10.0.0.1', port: 1 };
    t.heard(c, 0, true);
    t.staleBuckets(REFRESH_MS);
    t.heard(c, REFRESH_MS + 1, false);
    assert.deepEqual(t.staleBuckets(2 * REFRESH_MS), [0]);
    t.heard(c, 2 * REFRESH_MS + 1, true);
    assert.deepEqual(t.staleBuckets(3 * REFRESH_MS), []);
  });
});
