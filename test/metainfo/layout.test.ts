import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FileLayout } from '../../src/metainfo/index.js';

describe('FileLayout', () => {
  // files a(300) b(100) c(500), pieces of 256: the example in layout.ts
  const layout = new FileLayout([{ length: 300 }, { length: 100 }, { length: 500 }], 256);

  it('counts pieces and sizes the last one', () => {
    assert.equal(layout.pieceCount, 4);
    assert.equal(layout.pieceSize(0), 256);
    assert.equal(layout.pieceSize(3), 900 - 768);
    assert.throws(() => layout.pieceSize(4), RangeError);
  });

  it('splits a piece that spans files', () => {
    assert.deepEqual(layout.pieceSlices(1), [
      { fileIndex: 0, fileOffset: 256, pieceOffset: 0, length: 44 },
      { fileIndex: 1, fileOffset: 0, pieceOffset: 44, length: 100 },
      { fileIndex: 2, fileOffset: 0, pieceOffset: 144, length: 112 },
    ]);
    assert.deepEqual(layout.pieceSlices(1, 50, 50), [{ fileIndex: 1, fileOffset: 6, pieceOffset: 50, length: 50 }]);
  });

  it('maps files to their pieces, and empty files to none', () => {
    const l = new FileLayout([{ length: 0 }, { length: 300 }, { length: 0 }, { length: 100 }], 256);
    assert.equal(l.filePieces(0), undefined);
    assert.deepEqual(l.filePieces(1), { first: 0, last: 1 });
    assert.equal(l.filePieces(2), undefined);
    assert.deepEqual(l.filePieces(3), { first: 1, last: 1 });
    assert.deepEqual(l.pieceSlices(1).map((s) => s.fileIndex), [1, 3]);
  });

  it('covers every byte of every piece exactly once, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 2048 }), (lengths, pieceLength) => {
        const total = lengths.reduce((a, b) => a + b, 0);
        fc.pre(total > 0);
        const l = new FileLayout(lengths.map((length) => ({ length })), pieceLength);
        let stream = 0;
        for (let p = 0; p < l.pieceCount; p++) {
          let inPiece = 0;
          for (const s of l.pieceSlices(p)) {
            assert.equal(s.pieceOffset, inPiece);
            assert.equal(l.offsets[s.fileIndex]! + s.fileOffset, stream);
            assert.ok(s.length > 0 && s.fileOffset + s.length <= lengths[s.fileIndex]!);
            inPiece += s.length;
            stream += s.length;
          }
          assert.equal(inPiece, l.pieceSize(p));
        }
        assert.equal(stream, total);
      }),
      { numRuns: 300 },
    );
  });
});
