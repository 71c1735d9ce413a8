import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../../../src/net/index.js';
import { SEEDER, Swarm } from '../../../src/tracker/server/swarm.js';

/*
 * The compact peer store: sorted typed arrays for IPv4, a Map for IPv6. The
 * invariants checked everywhere are the ones the Tracker relies on: keys
 * strictly ascending, `seeders` equal to the number of SEEDER bits, peer ids
 * moving with their peer, and expiry computed modulo the 15-bit minute.
 */

const MINUTE_MASK = 0x7fff;

function keysOf(s: Swarm): number[] {
  return Array.from({ length: s.size }, (_, i) => s.keyAt(i));
}

function id(n: number): Uint8Array {
  return new Uint8Array(20).fill(n & 255);
}

/** The invariants of the IPv4 arrays. */
function checkInvariants(s: Swarm): void {
  const keys = keysOf(s);
  for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1]! < keys[i]!, `keys not strictly ascending at ${i}: ${keys[i - 1]} ${keys[i]}`);
  let seeders = 0;
  for (let i = 0; i < s.size; i++) if ((s.metaAt(i) & SEEDER) !== 0) seeders++;
  assert.equal(s.seeders, seeders, 'seeder count');
  assert.ok(s.capacity >= s.size && s.entries.length === 2 * s.capacity);
  if (s.peerIds !== undefined) assert.ok(s.peerIds.length >= s.size * 20);
  let seeders6 = 0;
  for (const p of s.v6.values()) if (p.seeder) seeders6++;
  assert.equal(s.seeders6, seeders6, 'IPv6 seeder count');
  assert.equal(s.allSeeders + s.leechers, s.peerCount);
}

describe('Swarm', () => {
  it('insert keeps keys sorted whatever the order, and finds each one', () => {
    const s = new Swarm();
    const keys = [50, 10, 40, 30, 20, 60, 5, 45, 1e12, 65536 * 0xffffffff + 65535];
    keys.forEach((k, i) => assert.equal(s.upsert(k, i % 3 === 0, 0, undefined), undefined, 'a new peer reports undefined'));
    checkInvariants(s);
    assert.deepEqual(keysOf(s), [...keys].sort((a, b) => a - b));
    for (const k of keys) assert.ok(s.find(k) >= 0);
    assert.equal(s.find(7), -2, 'absent key: -(insertion point) - 1');
    assert.equal(s.find(0), -1);
    assert.equal(s.seeders, 4);
    assert.equal(s.leechers, 6);
  });

  it('update in place flips the seeder count and reports what the peer was', () => {
    const s = new Swarm();
    s.upsert(100, false, 1, undefined);
    s.upsert(200, false, 1, undefined);
    assert.equal(s.upsert(100, true, 2, undefined), false);
    assert.equal(s.seeders, 1);
    assert.equal(s.upsert(100, true, 3, undefined), true);
    assert.equal(s.seeders, 1, 'seeder again: not counted twice');
    assert.equal(s.upsert(100, false, 4, undefined), true);
    assert.equal(s.seeders, 0);
    assert.equal(s.size, 2);
    assert.equal(s.metaAt(s.find(100)) & MINUTE_MASK, 4, 'minute updated');
    checkInvariants(s);
  });

  it('remove keeps order and counts; removing an absent key does nothing', () => {
    const s = new Swarm();
    for (let k = 1; k <= 20; k++) s.upsert(k * 10, k % 2 === 0, 0, undefined);
    s.remove(20); // seeder
    s.remove(10); // leecher, first
    s.remove(200); // seeder, last
    s.remove(15); // absent
    checkInvariants(s);
    assert.equal(s.size, 17);
    assert.equal(s.seeders, 8);
    assert.deepEqual(keysOf(s), [30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190]);
  });

  it('keeps peer ids with their peer through inserts, removes and growth', () => {
    const s = new Swarm();
    s.upsert(5000, false, 0, id(99)); // before keepPeerIds: not stored
    s.keepPeerIds();
    assert.deepEqual(s.peerIds!.slice(0, 20), new Uint8Array(20), 'unknown until the peer re-announces');
    for (let k = 1; k <= 30; k++) s.upsert(1000 - k * 10, false, 0, id(k)); // descending keys: each insert shifts the rest
    s.remove(990);
    s.remove(850);
    checkInvariants(s);
    const at = (key: number): Uint8Array => s.peerIds!.slice(s.find(key) * 20, s.find(key) * 20 + 20);
    for (let k = 2; k <= 30; k++) if (k !== 15) assert.deepEqual(at(1000 - k * 10), id(k));
    assert.deepEqual(at(5000), new Uint8Array(20));
    s.upsert(5000, true, 1, id(99));
    assert.deepEqual(at(5000), id(99));
    s.upsert(700, true, 1, undefined);
    assert.deepEqual(at(700), id(30), 'an update without an id keeps the old one');
  });

  it('expire drops peers older than maxAge, IPv4 and IPv6, and shrinks', () => {
    const s = new Swarm();
    s.keepPeerIds();
    for (let k = 0; k < 40; k++) s.upsert(k, k % 4 === 0, k < 30 ? 10 : 50, id(k));
    s.v6.set('old', { address: new Uint8Array(18), seeder: true, minute: 10, peerId: undefined });
    s.v6.set('new', { address: new Uint8Array(18), seeder: false, minute: 50, peerId: undefined });
    s.seeders6 = 1;
    assert.equal(s.expire(55, 30), 31);
    checkInvariants(s);
    assert.deepEqual(keysOf(s), [30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    assert.equal(s.seeders, 2, '32 and 36');
    assert.deepEqual([...s.v6.keys()], ['new']);
    assert.ok(s.capacity < 40, `capacity ${s.capacity} shrunk`);
    for (let k = 30; k < 40; k++) assert.deepEqual(s.peerIds!.slice(s.find(k) * 20, s.find(k) * 20 + 20), id(k), 'ids moved with their peers');
    assert.equal(s.expire(55, 30), 0, 'nothing more to drop');
    assert.equal(s.expire(81, 30), 11);
    assert.equal(s.peerCount, 0);
    assert.equal(s.seeders, 0);
  });

  it('expire computes ages modulo the 15-bit minute counter (wrap-around)', () => {
    const s = new Swarm();
    const wrap = MINUTE_MASK + 1;
    s.upsert(1, true, wrap - 2, undefined); // stored as 32766
    s.upsert(2, false, wrap + 3, undefined); // stored as 3
    s.upsert(3, true, 5 * wrap + 1, undefined);
    assert.equal(s.metaAt(0) & MINUTE_MASK, wrap - 2);
    assert.equal(s.metaAt(1) & MINUTE_MASK, 3);
    // Now = wrap + 4 (stored 4): ages 6, 1 and 3 even though 4 < 32766.
    assert.equal(s.expire(wrap + 4, 5), 1);
    assert.deepEqual(keysOf(s), [2, 3]);
    assert.equal(s.seeders, 1);
    // A huge absolute minute is fine too: only the low 15 bits matter.
    assert.equal(s.expire(1000 * wrap + 4, 3), 0);
    assert.equal(s.expire(1000 * wrap + 7, 4), 1, 'key 3 (last seen at 1) is 6 minutes old, key 2 only 4');
    assert.deepEqual(keysOf(s), [2]);
    checkInvariants(s);
  });

  describe('sample', () => {
    const build = (n: number, seeder: (k: number) => boolean): Swarm => {
      const s = new Swarm();
      for (let k = 0; k < n; k++) s.upsert(k * 7 + 1, seeder(k), 0, undefined);
      return s;
    };

    it('never returns the excluded index, nor duplicates, nor more than want', () => {
      const random = seededRandom(1);
      for (const n of [0, 1, 2, 5, 50, 1000]) {
        const s = build(n, (k) => k % 3 === 0);
        for (const want of [0, 1, 3, 10, 49, 50, 200]) {
          for (let rep = 0; rep < 5; rep++) {
            const exclude = n === 0 ? -1 : Math.floor(random() * n);
            const got = s.sample(want, exclude, false, random);
            assert.ok(got.length <= want);
            assert.equal(new Set(got).size, got.length, 'no duplicates');
            assert.ok(!got.includes(exclude));
            for (const i of got) assert.ok(i >= 0 && i < n);
            // Enough peers: the reply is full.
            assert.equal(got.length, Math.min(want, n - (exclude >= 0 ? 1 : 0)));
          }
        }
      }
    });

    it('returns only leechers when asked, and every leecher when few', () => {
      const random = seededRandom(2);
      for (const n of [10, 300, 5000]) {
        const s = build(n, (k) => k % 10 !== 0); // 10% leechers
        const leechers = Math.ceil(n / 10);
        for (const want of [1, 5, 50, 200]) {
          const got = s.sample(want, 0, true, random); // index 0 is a leecher, excluded
          for (const i of got) assert.equal(s.metaAt(i) & SEEDER, 0, 'seeder returned to a seeder');
          assert.ok(!got.includes(0));
          assert.equal(new Set(got).size, got.length);
          assert.equal(got.length, Math.min(want, leechers - 1));
        }
      }
      assert.deepEqual(build(20, () => true).sample(10, -1, true, random), [], 'all seeders: nothing for a seeder');
    });

    it('spreads over the swarm (not always the same peers)', () => {
      const s = build(1000, () => false);
      const random = seededRandom(3);
      const seen = new Set<number>();
      for (let rep = 0; rep < 20; rep++) for (const i of s.sample(50, -1, false, random)) seen.add(i);
      assert.ok(seen.size > 400, `only ${seen.size} distinct peers in 20 samples of 50`);
    });
  });

  it('behaves like a Map for any sequence of operations (property)', () => {
    type Op =
      | { op: 'upsert'; key: number; seeder: boolean; withId: boolean }
      | { op: 'remove'; key: number }
      | { op: 'tick'; minutes: number }
      | { op: 'expire'; maxAge: number }
      | { op: 'sample'; want: number; exclude: number; leechersOnly: boolean };
    const keyArb = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }));
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant('upsert' as const), key: keyArb, seeder: fc.boolean(), withId: fc.boolean() }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), key: keyArb }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), minutes: fc.integer({ min: 0, max: 20 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), maxAge: fc.integer({ min: 0, max: 30 }) }) },
      {
        weight: 2,
        arbitrary: fc.record({ op: fc.constant('sample' as const), want: fc.integer({ min: 0, max: 60 }), exclude: fc.integer({ min: -1, max: 60 }), leechersOnly: fc.boolean() }),
      },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.integer({ min: 0, max: 2 ** 20 }), fc.boolean(), fc.integer(), (ops, start, keepIds, seed) => {
        const s = new Swarm();
        if (keepIds) s.keepPeerIds();
        const random = seededRandom(seed);
        // The model: key -> seeder, the real (unwrapped) minute last seen and the peer id.
        const model = new Map<number, { seeder: boolean; minute: number; peerId: Uint8Array }>();
        let now = start;
        let nextId = 1;
        for (const o of ops) {
          if (o.op === 'upsert') {
            const peerId = id(nextId++);
            const before = model.get(o.key);
            const was = s.upsert(o.key, o.seeder, now, o.withId ? peerId : undefined);
            assert.equal(was, before?.seeder);
            // Ids are stored only when given; a new peer without one reads as zeros.
            const kept = o.withId ? peerId : (before?.peerId ?? new Uint8Array(20));
            model.set(o.key, { seeder: o.seeder, minute: now, peerId: kept });
          } else if (o.op === 'remove') {
            s.remove(o.key);
            model.delete(o.key);
          } else if (o.op === 'tick') {
            now += o.minutes;
          } else if (o.op === 'expire') {
            let gone = 0;
            for (const [k, v] of model) {
              if (now - v.minute > o.maxAge) {
                model.delete(k);
                gone++;
              }
            }
            assert.equal(s.expire(now, o.maxAge), gone);
          } else {
            const got = s.sample(o.want, o.exclude, o.leechersOnly, random);
            assert.ok(got.length <= o.want);
            assert.equal(new Set(got).size, got.length);
            for (const i of got) {
              assert.ok(i >= 0 && i < s.size && i !== o.exclude);
              if (o.leechersOnly) assert.ok(!model.get(s.keyAt(i))!.seeder);
            }
          }
          checkInvariants(s);
          const sorted = [...model.keys()].sort((a, b) => a - b);
          assert.deepEqual(keysOf(s), sorted);
          assert.equal(s.seeders, [...model.values()].filter((v) => v.seeder).length);
          for (const [k, v] of model) {
            const i = s.find(k);
            assert.equal((s.metaAt(i) & SEEDER) !== 0, v.seeder);
            assert.equal(s.metaAt(i) & MINUTE_MASK, v.minute & MINUTE_MASK);
            if (keepIds) assert.deepEqual(s.peerIds!.slice(i * 20, i * 20 + 20), v.peerId);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('sends a small swarm\'s peers as a well-mixed random subset, not a run of neighbours', () => {
    const s = new Swarm();
    for (let k = 0; k < 20; k++) s.upsert(1000 + k, false, 0, undefined);
    const random = seededRandom(11);
    const count = new Array<number>(20).fill(0);
    let neighbours = 0;
    let apart = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const picked = new Set(s.sample(5, -1, false, random));
      assert.equal(picked.size, 5);
      for (const i of picked) count[i]!++;
      for (let i = 0; i < 20; i++) {
        if (picked.has(i) && picked.has((i + 1) % 20)) neighbours++;
        if (picked.has(i) && picked.has((i + 10) % 20)) apart++;
      }
    }
    // Each peer about 5/20 of the time, and neighbours together no more often than far-apart peers.
    for (const c of count) assert.ok(Math.abs(c / trials - 0.25) < 0.05, `frequency ${c / trials}`);
    assert.ok(neighbours / apart < 1.3 && apart / neighbours < 1.3, `neighbours ${neighbours}, apart ${apart}`);
  });
});
