import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PieceOrder } from '../../src/engine/piece-order.js';
import { PiecePicker, requestQueueDepth, requestQueueTime, type BlockRef, type PeerKey, type PiecePickerInit } from '../../src/engine/picker.js';
import { seededRandom } from '../../src/net/random.js';
import { fastRandom, Pieces } from './helpers.js';

const B = 16384;

function picker(pieces: number, opts: Partial<PiecePickerInit> = {}, blocksPerPiece = 2): PiecePicker {
  return new PiecePicker({
    pieceCount: pieces,
    pieceLength: blocksPerPiece * B,
    totalLength: pieces * blocksPerPiece * B,
    random: seededRandom(1),
    randomFirstPieces: 0,
    ...opts,
  });
}

/** Availability from a string: piece i is had by as many peers (keys 100, 101, ...) as its digit. */
function withAvailability(p: PiecePicker, avail: string): void {
  const max = Math.max(...[...avail].map(Number));
  for (let k = 0; k < max; k++) p.addPeer(100 + k, Pieces.of([...avail].map((c) => (Number(c) > k ? '1' : '0')).join('')));
}

function markHaves(p: PiecePicker, have: string): void {
  for (let i = 0; i < have.length; i++) if (have[i] === '1') p.markHave(i);
}

function firstPick(seed: number, avail: string, have: string, peer: string, opts: Partial<PiecePickerInit> = {}): number | undefined {
  const p = picker(avail.length, { random: seededRandom(seed), ...opts });
  withAvailability(p, avail);
  markHaves(p, have);
  return p.pick(1, Pieces.of(peer), 1)[0]?.index;
}

describe('PiecePicker: rarest first', () => {
  const table: { avail: string; have: string; peer: string; expect: number[] }[] = [
    { avail: '1321', have: '0000', peer: '1111', expect: [0, 3] },
    { avail: '2321', have: '0000', peer: '1111', expect: [3] },
    { avail: '1321', have: '1000', peer: '1111', expect: [3] },
    { avail: '1321', have: '1001', peer: '1111', expect: [2] },
    { avail: '1321', have: '0000', peer: '0110', expect: [2] },
    { avail: '5555', have: '0000', peer: '0100', expect: [1] },
    { avail: '0000', have: '0000', peer: '1111', expect: [0, 1, 2, 3] },
    { avail: '9187', have: '0100', peer: '1111', expect: [3] },
    { avail: '1111', have: '1111', peer: '1111', expect: [] },
    { avail: '3213', have: '0000', peer: '1001', expect: [0, 3] },
  ];
  for (const { avail, have, peer, expect } of table) {
    it(`availability ${avail}, have ${have}, peer ${peer} -> ${expect.join(' or ') || 'nothing'}`, () => {
      const seen = new Set<number>();
      for (let seed = 0; seed < 40; seed++) {
        const got = firstPick(seed, avail, have, peer);
        if (got !== undefined) seen.add(got);
        else assert.deepEqual(expect, [], `seed ${seed} picked nothing`);
      }
      assert.deepEqual([...seen].sort(), expect);
    });
  }

  it('counts availability from bitfields, haves, have-all and departures', () => {
    const p = picker(4);
    withAvailability(p, '1321');
    assert.deepEqual([0, 1, 2, 3].map((i) => p.availability(i)), [1, 3, 2, 1]);
    p.addPeer(7, 'all');
    p.peerHave(8, 3);
    p.peerHave(8, 3); // a repeated have counts once
    assert.deepEqual([0, 1, 2, 3].map((i) => p.availability(i)), [2, 4, 3, 3]);
    p.removePeer(7);
    p.removePeer(100);
    assert.deepEqual([0, 1, 2, 3].map((i) => p.availability(i)), [0, 2, 1, 1]);
    p.addPeer(9, Pieces.all(4)); // a full bitfield is a seed
    for (const i of [0, 1, 2]) p.peerHave(8, i); // peer 8 completes
    assert.deepEqual([0, 1, 2, 3].map((i) => p.availability(i)), [2, 4, 3, 2]);
    assert.ok([0, 3].includes(p.pick(1, Pieces.all(4), 1)[0]!.index), 'the buckets stayed sorted');
  });

  it('breaks ties at random, covering every equally rare piece about evenly', () => {
    const counts = new Map<number, number>();
    for (let seed = 0; seed < 600; seed++) {
      const got = firstPick(seed, '2121213232', '0000000000', '1111111111');
      assert.ok(got === 1 || got === 3 || got === 5, `picked ${got}`);
      counts.set(got, (counts.get(got) ?? 0) + 1);
    }
    for (const i of [1, 3, 5]) assert.ok((counts.get(i) ?? 0) > 120, `piece ${i} picked ${counts.get(i)} times of 600`);
  });

  it('picks at random until randomFirstPieces are had, then rarest first', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 100; seed++) seen.add(firstPick(seed, '1999999999', '0000000000', '1111111111', { randomFirstPieces: 4 })!);
    assert.ok(seen.size >= 8, `random first piece covered only ${[...seen].join(',')}`);
    for (let seed = 0; seed < 30; seed++) {
      assert.equal(firstPick(seed, '1999999999', '0000001111', '1111111111', { randomFirstPieces: 4 }), 0);
      assert.notEqual(firstPick(seed, '1999999999', '0000000111', '1111111111', { randomFirstPieces: 4 }), undefined);
    }
  });

  it('honours onlyFrom (BEP 6 allowed fast set), rarest first within it', () => {
    const p = picker(6);
    withAvailability(p, '132111');
    assert.deepEqual(p.pick(1, Pieces.all(6), 10, new Set([1, 2])).map((b) => b.index), [2, 2, 1, 1]);
    assert.deepEqual(p.pick(1, Pieces.of('001111'), 10, new Set([0, 1])), []);
  });
});

describe('PiecePicker: blocks nobody asked this peer for', () => {
  it('takes a free block of a started piece once, and nothing of a piece not started or already had', () => {
    const p = picker(2, {}, 4);
    p.addPeer(1, 'all');
    const a = p.pick(1, Pieces.all(2), 2); // two blocks of one piece
    p.releaseAll(1);
    const other = a[0]!.index === 0 ? 1 : 0;
    assert.equal(p.onBlock(1, { index: other, begin: 0, length: B }).wanted, false, 'a piece never started');
    // The released piece went back to the pool: start it again, then a stray block of it arrives.
    const again = p.pick(1, Pieces.all(2), 1);
    assert.equal(again[0]!.index, a[0]!.index);
    assert.equal(p.onBlock(2, { index: again[0]!.index, begin: 3 * B, length: B }).wanted, true, 'a free block of a started piece');
    assert.equal(p.onBlock(2, { index: again[0]!.index, begin: 3 * B, length: B }).wanted, false, 'not twice');
    assert.deepEqual(p.pick(1, Pieces.all(2), 8).filter((b) => b.index === again[0]!.index).map((b) => b.begin), [B, 2 * B], 'the block it brought is not asked for again');
  });
});

describe('PiecePicker: other orders', () => {
  it('sequential: the lowest-numbered piece the peer has, whatever the availability; a released piece comes first again', () => {
    const p = picker(6, { order: 'sequential' }, 1);
    withAvailability(p, '921111');
    markHaves(p, '100000');
    assert.deepEqual(p.pick(1, Pieces.of('011111'), 3).map((b) => b.index), [1, 2, 3]);
    assert.deepEqual(p.pick(2, Pieces.of('000011'), 1).map((b) => b.index), [4]);
    p.releaseAll(1);
    assert.deepEqual(p.pick(2, Pieces.all(6), 2).map((b) => b.index), [1, 2]);
  });

  it('random: every piece the peer has, not only the rarest', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 60; seed++) {
      const p = picker(4, { order: 'random', random: seededRandom(seed) });
      withAvailability(p, '1999');
      seen.add(p.pick(1, Pieces.all(4), 1)[0]!.index);
    }
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
    // Rarest first, for contrast: always the rare one.
    assert.equal(firstPick(5, '1999', '0000', '1111'), 0);
  });
});

describe('PiecePicker: requests', () => {
  it('finishes partial pieces before starting new ones', () => {
    const p = picker(3, {}, 4);
    withAvailability(p, '311');
    const a = p.pick(1, Pieces.of('100'), 2);
    assert.deepEqual(a.map((b) => [b.index, b.begin]), [[0, 0], [0, B]]);
    // Pieces 1 and 2 are rarer, but piece 0 is started: finish it first.
    const b = p.pick(2, Pieces.all(3), 3);
    assert.deepEqual(b.map((x) => [x.index, x.begin]), [[0, 2 * B], [0, 3 * B], [b[2]!.index, 0]]);
    assert.ok(b[2]!.index === 1 || b[2]!.index === 2);
    assert.equal(p.outstanding(1), 2);
    assert.equal(p.outstanding(2), 3);
  });

  it('never requests a block twice outside endgame, hands released blocks to others, and takes a released block that still comes', () => {
    const p = picker(1, {}, 4);
    const all = Pieces.all(1);
    p.addPeer(1, 'all');
    p.addPeer(2, 'all');
    const a = p.pick(1, all, 10);
    assert.equal(a.length, 4);
    assert.equal(p.inEndgame, true);
    p.release(1, a[1]!);
    assert.equal(p.inEndgame, false);
    assert.deepEqual(p.pick(2, all, 1), [a[1]]);
    const back = p.releaseAll(1);
    assert.deepEqual(back, [a[0], a[2], a[3]]);
    assert.equal(p.outstanding(1), 0);
    assert.deepEqual(p.pick(2, all, 10), [a[0], a[2], a[3]]);
    // Peer 1's block still arrives (it was on its way when its requests were released): taken, and peer 2 is told to cancel.
    assert.deepEqual(p.onBlock(1, a[0]!), { wanted: true, cancel: [2], pieceReady: false });
    assert.equal(p.outstanding(2), 3, 'a[1], a[2], a[3]');
    assert.equal(p.onBlock(2, a[0]!).wanted, false, 'the same block again is a duplicate');
  });

  it('endgame: duplicates up to endgameDuplicates, never to the same peer, and cancels the others', () => {
    for (const dupes of [2, 3]) {
      const p = picker(2, { endgameDuplicates: dupes, endgameDepth: 10 });
      const all = Pieces.all(2);
      for (const k of [1, 2, 3]) p.addPeer(k, 'all');
      const a = p.pick(1, all, 10);
      assert.equal(a.length, 4);
      assert.equal(p.inEndgame, true);
      assert.deepEqual(p.pick(1, all, 10), [], 'no duplicate at the same peer');
      const newestFirst = [...a].reverse();
      assert.deepEqual(p.pick(2, all, 10), newestFirst);
      assert.deepEqual(p.pick(3, all, 10), dupes === 3 ? newestFirst : []);
      const first = p.onBlock(2, a[0]!);
      assert.deepEqual(first, { wanted: true, cancel: dupes === 3 ? [1, 3] : [1], pieceReady: false });
      assert.deepEqual(p.onBlock(1, a[0]!), { wanted: false, cancel: [], pieceReady: false });
      assert.equal(p.outstanding(1), 3);
      assert.equal(p.onBlock(1, a[1]!).pieceReady, true);
    }
  });

  it('endgame: a peer gets duplicates only while it has fewer than endgameDepth outstanding, the newest requests first', () => {
    const p = picker(4, { endgameDepth: 2 });
    const all = Pieces.all(4);
    for (const k of [1, 2]) p.addPeer(k, 'all');
    const a = p.pick(1, all, 8); // every block, requested in order: piece by piece, block by block
    assert.equal(a.length, 8);
    assert.equal(p.inEndgame, true);
    // Peer 2 is idle: two duplicates, from the back of peer 1's queue (the blocks that would come last).
    assert.deepEqual(p.pick(2, all, 8), [a[7], a[6]]);
    assert.deepEqual(p.pick(2, all, 8), [], 'its two duplicates are still outstanding');
    p.onBlock(2, a[7]!);
    assert.deepEqual(p.pick(2, all, 8), [a[5]], 'one arrived: one more');
    assert.equal(p.outstanding(1), 7, 'peer 1 keeps its requests (it is sent a cancel for the one that came from peer 2)');
  });

  it('pieceFailed returns the peers that sent blocks, and the piece is picked again', () => {
    const p = picker(2, {}, 4);
    const all = Pieces.all(2);
    p.addPeer(1, 'all');
    p.addPeer(2, 'all');
    const a = p.pick(1, all, 2);
    const b = p.pick(2, all, 2);
    assert.equal(a[0]!.index, b[0]!.index);
    const idx = a[0]!.index;
    assert.equal(p.onBlock(1, a[0]!).pieceReady, false);
    assert.equal(p.onBlock(2, b[0]!).pieceReady, false);
    assert.equal(p.onBlock(2, b[1]!).pieceReady, false);
    assert.equal(p.onBlock(1, a[1]!).pieceReady, true);
    assert.deepEqual(p.pieceFailed(idx), [1, 2]);
    assert.equal(p.has(idx), false);
    const again = p.pick(2, all, 4);
    assert.deepEqual(again.map((x) => x.index), [idx, idx, idx, idx]);
    for (const blk of again) p.onBlock(2, blk);
    p.pieceVerified(idx);
    assert.equal(p.has(idx), true);
    assert.equal(p.haveCount, 1);
  });

  it('sizes the short last piece and its short last block', () => {
    const p = new PiecePicker({ pieceCount: 3, pieceLength: 40000, totalLength: 100000, blockSize: B, random: seededRandom(2) });
    assert.deepEqual([0, 1, 2].map((i) => p.blocksIn(i)), [3, 3, 2]);
    p.addPeer(1, 'all');
    const blocks = p.pick(1, Pieces.all(3), 100).sort((x, y) => x.index - y.index || x.begin - y.begin);
    assert.deepEqual(
      blocks.map((b) => [b.index, b.begin, b.length]),
      [[0, 0, B], [0, B, B], [0, 2 * B, 40000 - 2 * B], [1, 0, B], [1, B, B], [1, 2 * B, 40000 - 2 * B], [2, 0, B], [2, B, 20000 - B]],
    );
    assert.equal(blocks.reduce((s, b) => s + b.length, 0), 100000);
    assert.equal(p.onBlock(1, { index: 2, begin: B, length: B }).wanted, false, 'wrong length');
    assert.equal(p.onBlock(1, { index: 2, begin: 100, length: 10 }).wanted, false, 'not a block boundary');
    assert.equal(p.onBlock(1, { index: 2, begin: B, length: 20000 - B }).wanted, true);
  });

  it('never picks unwanted pieces, and is complete when every wanted piece is had', () => {
    const p = picker(6);
    for (const i of [1, 4]) p.setWanted(i, false);
    assert.equal(p.isInteresting(Pieces.of('010010')), false);
    assert.equal(p.isInteresting(Pieces.of('010011')), true);
    assert.equal(p.wants(4), false);
    p.addPeer(1, 'all');
    const got = p.pick(1, Pieces.all(6), 100);
    assert.deepEqual([...new Set(got.map((b) => b.index))].sort(), [0, 2, 3, 5]);
    for (const b of got) if (p.onBlock(1, b).pieceReady) p.pieceVerified(b.index);
    assert.equal(p.complete, true);
    assert.equal(p.haveCount, 4);
    assert.deepEqual(p.pick(1, Pieces.all(6), 100), []);
    p.setWanted(4, true);
    assert.equal(p.complete, false);
    assert.deepEqual(p.pick(1, Pieces.all(6), 100).map((b) => b.index), [4, 4]);
  });
});

/** The pool's invariants (libtorrent checks its picker's in debug builds; we reach into the private pool here). */
function checkPool(p: PiecePicker): void {
  const q = p as unknown as { pool: PieceOrder; partials: Map<number, unknown> };
  q.pool.checkInvariant();
  for (let i = 0; i < p.pieceCount; i++) assert.equal(q.pool.has(i), p.wants(i) && !q.partials.has(i), `piece ${i} pool membership`);
}

/** A random swarm, driven to completion: pick, deliver, time out, disconnect, fail hashes. */
function simulate(seed: number): void {
  const r = fastRandom(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const blockSize = 16;
  const pieceLength = blockSize * (1 + int(4));
  const pieceCount = 1 + int(30);
  const totalLength = (pieceCount - 1) * pieceLength + 1 + int(pieceLength);
  const p = new PiecePicker({ pieceCount, pieceLength, totalLength, blockSize, random: seededRandom(seed), randomFirstPieces: int(3), endgameDuplicates: 1 + int(3) });
  const peers = new Map<PeerKey, Pieces>();
  const inflight = new Map<PeerKey, BlockRef[]>();
  const connect = (k: PeerKey): void => {
    const s = peers.get(k) ?? (r() < 0.2 ? Pieces.all(pieceCount) : Pieces.of(Array.from({ length: pieceCount }, () => (r() < 0.5 ? '1' : '0')).join('')));
    peers.set(k, s);
    inflight.set(k, []);
    p.addPeer(k, s);
  };
  const peerCount = 1 + int(6);
  for (let k = 0; k < peerCount; k++) connect(k);
  // Pieces nobody has are not wanted (they could never complete); some others are deselected.
  const wanted = Array.from({ length: pieceCount }, (_, i) => [...peers.values()].some((s) => s.has(i)) && r() < 0.9);
  wanted.forEach((w, i) => p.setWanted(i, w));
  const received = new Map<string, number>();
  const key = (b: BlockRef): string => `${b.index}:${b.begin}`;
  for (let step = 0; step < 50_000 && !p.complete; step++) {
    const k = int(peerCount);
    const pieces = peers.get(k)!;
    const q = inflight.get(k)!;
    const act = r();
    if (step % 50 === 0) {
      checkPool(p);
      for (let i = 0; i < pieceCount; i++) assert.equal(p.availability(i), [...peers.values()].filter((x) => x.has(i)).length);
    }
    if (act < 0.4) {
      const endgame = p.inEndgame;
      const fast = r() < 0.2 ? new Set([int(pieceCount), int(pieceCount), int(pieceCount)]) : undefined;
      for (const b of p.pick(k, pieces, 1 + int(8), fast)) {
        assert.ok(fast === undefined || fast.has(b.index), 'a piece outside the allowed fast set');
        assert.ok(pieces.has(b.index), 'requested a piece the peer lacks');
        assert.ok(!p.has(b.index) && wanted[b.index], 'requested a piece we have or do not want');
        assert.ok(!q.some((x) => key(x) === key(b)), 'requested a block twice from one peer');
        const elsewhere = [...inflight.values()].some((l) => l.some((x) => key(x) === key(b)));
        assert.ok(!elsewhere || endgame || p.inEndgame, 'duplicate request outside endgame');
        q.push(b);
      }
      assert.equal(p.outstanding(k), q.length);
    } else if (act < 0.85 && q.length > 0) {
      const [b] = q.splice(int(q.length), 1) as [BlockRef];
      const res = p.onBlock(k, b);
      if (!res.wanted) continue;
      received.set(key(b), (received.get(key(b)) ?? 0) + 1);
      assert.equal(received.get(key(b)), 1, 'a block was accepted twice');
      for (const c of res.cancel) {
        const l = inflight.get(c)!;
        l.splice(l.findIndex((x) => key(x) === key(b)), 1);
      }
      if (res.pieceReady) {
        if (r() < 0.15) {
          assert.ok(p.pieceFailed(b.index).includes(k));
          for (const kk of received.keys()) if (kk.startsWith(`${b.index}:`)) received.delete(kk);
        } else p.pieceVerified(b.index);
      }
    } else if (act < 0.93 && q.length > 0) {
      p.release(k, q.splice(int(q.length), 1)[0]!);
    } else if (act < 0.96) {
      const back = p.releaseAll(k);
      assert.equal(back.length, q.length);
      q.length = 0;
    } else if (act < 0.98) {
      p.removePeer(k);
      connect(k);
    } else {
      const i = int(pieceCount);
      pieces.set(i);
      p.peerHave(k, i);
    }
  }
  assert.ok(p.complete, `seed ${seed}: download did not complete`);
  for (let i = 0; i < pieceCount; i++) {
    assert.equal(p.has(i), wanted[i]);
    if (!wanted[i]) continue;
    for (let j = 0; j < p.blocksIn(i); j++) assert.equal(received.get(`${i}:${j * blockSize}`), 1, `block ${i}:${j} not received exactly once`);
  }
}

describe('PiecePicker: properties', () => {
  it('random swarms: only pieces the peer has and we lack, every block received exactly once, always completes', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => simulate(seed)), { numRuns: 200 });
  });

  it('runs at scale: 100,000 pieces, 50 peers', () => {
    const n = 100_000;
    const p = new PiecePicker({ pieceCount: n, pieceLength: 262144, totalLength: n * 262144, random: seededRandom(5) });
    const r = fastRandom(5);
    const peers: Pieces[] = [];
    for (let k = 0; k < 50; k++) {
      const s = new Pieces(n);
      const density = r();
      for (let i = 0; i < n; i++) if (r() < density) s.set(i);
      peers.push(s);
      p.addPeer(k, s);
    }
    let done = 0;
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 50; k++) {
        for (const b of p.pick(k, peers[k]!, 32)) {
          const res = p.onBlock(k, b);
          if (res.pieceReady) {
            p.pieceVerified(b.index);
            done++;
          }
        }
      }
      p.removePeer(round);
      p.addPeer(round, peers[round]!);
    }
    assert.ok(done > 500, `${done} pieces done`);
    assert.equal(p.haveCount, done);
  });
});

describe('requestQueueDepth', () => {
  it('is the bandwidth-delay product in blocks, clamped to [min, reqq]', () => {
    assert.equal(requestQueueDepth(0), 4);
    assert.equal(requestQueueDepth(Number.NaN), 4);
    assert.equal(requestQueueDepth(1_000_000), Math.ceil((1_000_000 * 2) / 16384));
    assert.equal(requestQueueDepth(150e6), 500);
    assert.equal(requestQueueDepth(150e6, { max: 250 }), 250);
    assert.equal(requestQueueDepth(1_000_000, { latencyMs: 1000, blockSize: 32768 }), 31);
    assert.equal(requestQueueDepth(0, { min: 8, max: 2 }), 2, "the peer's reqq wins");
  });
});

describe('requestQueueTime', () => {
  it('is 2 s until a round trip is known, then three round trips and 100 ms, within [300 ms, 2 s]', () => {
    assert.equal(requestQueueTime(undefined), 2000);
    assert.equal(requestQueueTime(Number.NaN), 2000);
    assert.equal(requestQueueTime(0.2), 300, 'loopback: the floor');
    assert.equal(requestQueueTime(60), 300);
    assert.equal(requestQueueTime(100), 400);
    assert.equal(requestQueueTime(250), 850);
    assert.equal(requestQueueTime(5000), 2000, 'a bufferbloated link: the ceiling');
  });
});
