import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/net/index.js';
import { FaultyStore, MemoryStore } from '../../src/storage/index.js';
import { contentOf, pieceOf, storageError, torrentOf } from './helpers.js';

// Six pieces of 256 bytes and a last one of 100.
const t = torrentOf([{ path: ['a'], length: 1000 }, { path: ['b'], length: 636 }], 256);
const data = contentOf(t);

describe('FaultyStore', () => {
  it('refuses whole pieces once the disk is full, and passes nothing of them on', async () => {
    const inner = new MemoryStore(t.layout);
    const store = new FaultyStore(inner, { diskFullAfterBytes: 700 });
    await store.writePiece(0, pieceOf(t, data, 0));
    await store.writePiece(1, pieceOf(t, data, 1));
    await assert.rejects(store.writePiece(2, pieceOf(t, data, 2)), storageError('disk-full'));
    // Full stays full, even for the short last piece that would fit in what is left.
    await assert.rejects(store.writePiece(6, pieceOf(t, data, 6)), storageError('disk-full'));
    assert.equal(store.bytesWritten, 512);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => inner.has(i)), [true, true, false, false, false, false, false]);
    assert.deepEqual(await store.read(1, 0, 256), pieceOf(t, data, 1));
  });

  it('lets exactly the pieces that fit through when writes race', async () => {
    const inner = new MemoryStore(t.layout);
    const store = new FaultyStore(inner, { diskFullAfterBytes: 3 * 256 });
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((i) => store.writePiece(i, pieceOf(t, data, i))));
    const ok = results.map((r) => r.status === 'fulfilled');
    assert.equal(ok.filter(Boolean).length, 3);
    // What the engine was told matches what landed.
    ok.forEach((written, i) => assert.equal(inner.has(i), written, `piece ${i}`));
    for (const r of results) if (r.status === 'rejected') storageError('disk-full')(r.reason);
  });

  it('corrupts the blocks it is told to, and only those', async () => {
    const inner = MemoryStore.from(t.layout, data);
    const store = new FaultyStore(inner, { corruptReads: (index, begin) => index === 2 && begin === 16 });
    assert.deepEqual(await store.read(2, 0, 16), pieceOf(t, data, 2).subarray(0, 16));
    const bad = await store.read(2, 16, 64);
    const good = pieceOf(t, data, 2).subarray(16, 80);
    assert.notDeepEqual(bad, good);
    assert.equal(bad.filter((b, i) => b !== good[i]).length, 1);
    // The inner store is untouched.
    assert.deepEqual(await inner.read(2, 16, 64), good);
  });

  it('delays every operation on the injected clock', async () => {
    const clock = new ManualClock();
    const store = new FaultyStore(MemoryStore.from(t.layout, data), { latencyMs: 50, clock });
    let done = false;
    const read = store.read(0, 0, 10).then((b) => {
      done = true;
      return b;
    });
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(done, false);
    clock.advance(49);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(done, false);
    clock.advance(1);
    assert.deepEqual(await read, pieceOf(t, data, 0).subarray(0, 10));
    const write = store.writePiece(1, pieceOf(t, data, 1));
    clock.advance(50);
    await write;
    const close = store.close();
    clock.advance(50);
    await close;
    await assert.rejects(store.inner.read(0, 0, 1), storageError('closed'));
  });
});

describe('MemoryStore', () => {
  it('allocates nothing until a piece is written, and reads zeros before', async () => {
    const big = torrentOf([{ path: ['huge'], length: 100 * 1024 ** 3 }], 4 * 1024 * 1024);
    const store = new MemoryStore(big.layout);
    assert.equal(store.bytesAllocated, 0);
    assert.deepEqual(await store.read(12_345, 100, 8), new Uint8Array(8));
    await store.writePiece(7, new Uint8Array(4 * 1024 * 1024).fill(1));
    assert.equal(store.bytesAllocated, 4 * 1024 * 1024);
    assert.equal(store.has(7), true);
    assert.equal(store.has(8), false);
    await store.close();
    // Still there to look at, outside the PieceStore interface.
    assert.deepEqual(store.piece(7), new Uint8Array(4 * 1024 * 1024).fill(1));
    assert.equal(store.piece(8), undefined);
  });

  it('seeds from the whole content with from(), without copying it', async () => {
    const store = MemoryStore.from(t.layout, data);
    for (let i = 0; i < t.layout.pieceCount; i++) assert.deepEqual(await store.read(i, 0, t.layout.pieceSize(i)), pieceOf(t, data, i));
    assert.throws(() => MemoryStore.from(t.layout, data.subarray(1)), RangeError);
    // A write replaces the piece, it does not write into the caller's buffer.
    const before = data.slice();
    await store.writePiece(0, new Uint8Array(256));
    assert.deepEqual(data, before);
  });
});
