import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PieceStore, StorageTorrent } from '../../src/storage/index.js';
import { contentOf, pieceOf, storageError, torrentOf } from './helpers.js';

/*
 * The one suite every PieceStore passes (STYLE.md: shared suites against
 * every backend). The torrent has pieces across file boundaries, a BEP 47
 * padding file, an empty file and a short last piece:
 *
 *   files   |-- a (300) --|b (100)|pad (112)|------ c (500) ------|d (0)|e (37)|
 *   pieces  |--- 0 (256) ---|--- 1 (256) ---|--- 2 ---|--- 3 ---|-- 4 (25) --|
 */

export const suiteTorrent: StorageTorrent = torrentOf(
  [
    { path: ['a.bin'], length: 300 },
    { path: ['sub', 'b.bin'], length: 100 },
    { path: ['.pad', '112'], length: 112, padding: true },
    { path: ['sub', 'deeper', 'c.bin'], length: 500 },
    { path: ['d.empty'], length: 0 },
    { path: ['e.bin'], length: 37 },
  ],
  256,
);

export interface Opened {
  readonly store: PieceStore;
  readonly cleanup: () => Promise<void>;
}

export function pieceStoreSuite(name: string, open: (t: StorageTorrent) => Promise<Opened>): void {
  const t = suiteTorrent;
  const data = contentOf(t);
  const count = t.layout.pieceCount;

  const withStore = (fn: (store: PieceStore) => Promise<void>) => async () => {
    const { store, cleanup } = await open(t);
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  };
  const writeAll = async (store: PieceStore, order: readonly number[] = [...Array(count).keys()]): Promise<void> => {
    for (const i of order) await store.writePiece(i, pieceOf(t, data, i));
  };

  describe(`PieceStore conformance: ${name}`, () => {
    it('reads back every piece written, across file boundaries', withStore(async (store) => {
      await writeAll(store, [3, 0, 4, 2, 1]);
      for (let i = 0; i < count; i++) assert.deepEqual(await store.read(i, 0, t.layout.pieceSize(i)), pieceOf(t, data, i));
    }));

    it('reads any block at any offset', withStore(async (store) => {
      await writeAll(store);
      const block = fc
        .integer({ min: 0, max: count - 1 })
        .chain((i) => fc.tuple(fc.constant(i), fc.integer({ min: 0, max: t.layout.pieceSize(i) })))
        .chain(([i, begin]) => fc.tuple(fc.constant(i), fc.constant(begin), fc.integer({ min: 0, max: t.layout.pieceSize(i) - begin })));
      await fc.assert(
        fc.asyncProperty(block, async ([i, begin, length]) => {
          const got = await store.read(i, begin, length);
          assert.deepEqual(got, pieceOf(t, data, i).subarray(begin, begin + length));
        }),
        { numRuns: 60 },
      );
    }));

    it('keeps pieces written concurrently apart', withStore(async (store) => {
      await Promise.all([...Array(count).keys()].map((i) => store.writePiece(i, pieceOf(t, data, i))));
      for (let i = 0; i < count; i++) assert.deepEqual(await store.read(i, 0, t.layout.pieceSize(i)), pieceOf(t, data, i));
    }));

    it('reads zeros where a padding file lies', withStore(async (store) => {
      await writeAll(store);
      // Piece 1 is stream bytes [256, 512): a[256, 300), b, then the padding [400, 512).
      assert.deepEqual(await store.read(1, 144, 112), new Uint8Array(112));
    }));

    it('returns a copy the caller may change', withStore(async (store) => {
      await writeAll(store);
      const first = await store.read(0, 0, 16);
      first.fill(0xee);
      assert.deepEqual(await store.read(0, 0, 16), pieceOf(t, data, 0).subarray(0, 16));
    }));

    it('reads an empty block', withStore(async (store) => {
      await writeAll(store);
      assert.equal((await store.read(4, 25, 0)).length, 0);
    }));

    it("rejects reads and writes outside the torrent with 'range'", withStore(async (store) => {
      await writeAll(store);
      const range = storageError('range');
      await assert.rejects(store.read(-1, 0, 1), range);
      await assert.rejects(store.read(count, 0, 1), range);
      await assert.rejects(store.read(0.5, 0, 1), range);
      await assert.rejects(store.read(0, 250, 7), range);
      await assert.rejects(store.read(4, 0, 26), range); // the last piece is 25 bytes
      await assert.rejects(store.read(0, -1, 1), range);
      await assert.rejects(store.read(0, 0, -1), range);
      await assert.rejects(store.writePiece(count, new Uint8Array(25)), range);
      await assert.rejects(store.writePiece(0, new Uint8Array(255)), range);
      await assert.rejects(store.writePiece(4, new Uint8Array(256)), range);
    }));

    it("rejects everything with 'closed' once closed", withStore(async (store) => {
      await writeAll(store);
      await store.close();
      await assert.rejects(store.read(0, 0, 1), storageError('closed'));
      await assert.rejects(store.writePiece(0, pieceOf(t, data, 0)), storageError('closed'));
      await store.close(); // a second close does nothing
    }));
  });
}
