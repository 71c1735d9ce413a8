import assert from 'node:assert/strict';
import { open, rm, truncate, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { recheckPieces } from '../../src/storage/index.js';
import { planRecheck } from '../../src/storage/recheck.js';
import { suiteTorrent } from './conformance.js';
import { bitfield, bitsOf, contentOf, hashesOf, tempDir, torrentOf, writeTree, type FileSpec } from './helpers.js';

let dir: string;
let remove: () => Promise<void>;
beforeEach(async () => ({ dir, remove } = await tempDir('recheck')));
afterEach(() => remove());

const all = (n: number): Uint8Array => bitfield('1'.repeat(n));

/** Flip one byte of a file in place. */
async function corrupt(path: string, at: number): Promise<void> {
  const h = await open(path, 'r+');
  const b = new Uint8Array(1);
  await h.read(b, 0, 1, at);
  b[0] = b[0]! ^ 0xff;
  await h.write(b, 0, 1, at);
  await h.close();
}

describe('recheckPieces', () => {
  // suiteTorrent:  a (300) | b (100) | pad (112) | c (500) | d (0) | e (37), pieces of 256: 5 pieces.
  const t = suiteTorrent;
  const data = contentOf(t);
  const hashes = hashesOf(t, data);

  it('passes every piece of intact data, padding files read as zeros', async () => {
    const paths = await writeTree(t, dir, data);
    const good = await recheckPieces(paths, t.files, t.layout, hashes, all(5));
    assert.equal(bitsOf(good, 5), '11111');
  });

  it('takes plain lengths, which know nothing of padding', async () => {
    const paths = await writeTree(t, dir, data);
    const lengths = t.files.map((f) => f.length);
    // Piece 1 touches the padding file, which is not on disk.
    assert.equal(bitsOf(await recheckPieces(paths, lengths, t.layout, hashes, all(5)), 5), '10111');
  });

  it('checks only the pieces asked for', async () => {
    const paths = await writeTree(t, dir, data);
    assert.equal(bitsOf(await recheckPieces(paths, t.files, t.layout, hashes, bitfield('01001')), 5), '01001');
  });

  it('detects a corrupted piece', async () => {
    const paths = await writeTree(t, dir, data);
    await corrupt(paths[3]!, 200); // c[200] is stream byte 712: piece 2
    assert.equal(bitsOf(await recheckPieces(paths, t.files, t.layout, hashes, all(5)), 5), '11011');
  });

  it('fails the pieces of a missing file, and only those', async () => {
    const paths = await writeTree(t, dir, data);
    await rm(paths[1]!); // b: stream [300, 400), piece 1
    assert.equal(bitsOf(await recheckPieces(paths, t.files, t.layout, hashes, all(5)), 5), '10111');
  });

  it('fails the pieces past the end of a short file, and passes the ones before', async () => {
    const paths = await writeTree(t, dir, data);
    await truncate(paths[3]!, 300); // c keeps [0, 300): stream [512, 812); piece 3 is [768, 1024)
    assert.equal(bitsOf(await recheckPieces(paths, t.files, t.layout, hashes, all(5)), 5), '11101');
  });

  it('fails everything when nothing is on disk, without throwing', async () => {
    const paths = t.files.map((_, i) => `${dir}/nothing/${i}`);
    assert.equal(bitsOf(await recheckPieces(paths, t.files, t.layout, hashes, all(5)), 5), '00000');
  });

  it('reports progress up to the total', async () => {
    const paths = await writeTree(t, dir, data);
    let last: [number, number] = [0, 0];
    await recheckPieces(paths, t.files, t.layout, hashes, all(5), { onProgress: (d, n) => (last = [d, n]) });
    assert.deepEqual(last, [t.layout.length, t.layout.length]);
  });

  it('stops when aborted', async () => {
    const paths = await writeTree(t, dir, data);
    await assert.rejects(recheckPieces(paths, t.files, t.layout, hashes, all(5), { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('refuses arguments that do not fit the layout', async () => {
    await assert.rejects(recheckPieces([], t.files, t.layout, hashes, all(5)), RangeError);
    await assert.rejects(recheckPieces(t.files.map(() => dir), t.files, t.layout, hashes.subarray(20), all(5)), RangeError);
  });
});

describe('recheckPieces on the hashing pool', () => {
  const MiB = 1024 * 1024;
  const P = 65536;
  // A complete, B missing (so C starts off a piece boundary), C complete, a padding file, then E on a boundary.
  const specs: FileSpec[] = [
    { path: ['A'], length: 5 * MiB + 1000 },
    { path: ['B'], length: 300 },
    { path: ['C'], length: 10 * MiB + 7 },
    { path: ['.pad', 'x'], length: P - ((15 * MiB + 1307) % P), padding: true },
    { path: ['E'], length: 9 * MiB },
  ];
  const t = torrentOf(specs, P);
  const count = t.layout.pieceCount;

  it('plans pool jobs for big segments, with throw-away bytes where a segment is off a boundary', () => {
    const paths = specs.map((s) => s.path.join('/'));
    const sizes = specs.map((s, i) => (s.padding === true ? Infinity : i === 1 ? -1 : s.length));
    const plan = planRecheck(paths, t.files, t.layout, all(count), sizes);
    assert.equal(plan.pool.length, 2);
    const [c, e] = plan.pool;
    // C starts at 5 MiB + 1300: 1300 bytes past a boundary, borrowed from A.
    assert.deepEqual(c!.sources, [{ path: 'A', length: 1300 }, { path: 'C', length: 10 * MiB + 7 }]);
    assert.equal(c!.base, Math.floor((5 * MiB + 1300) / P));
    assert.equal(c!.pieces[0], c!.base + 1);
    assert.deepEqual(e!.sources, [{ path: 'E', length: 9 * MiB }]);
    // A is small enough to hash in-thread; the pieces across B and across the padding are in-thread too.
    const pooled = new Set([...c!.pieces, ...e!.pieces]);
    assert.ok(plan.inThread.every((i) => !pooled.has(i)));
    assert.ok(plan.inThread.includes(Math.floor((5 * MiB + 1000 + 300 + 10 * MiB + 7) / P)), 'the piece before the padding');
    // The piece across the missing B is not planned at all (its data is missing).
    const acrossB = Math.floor((5 * MiB + 1000) / P);
    assert.ok(!plan.inThread.includes(acrossB) && !pooled.has(acrossB));
    assert.equal(pooled.size + plan.inThread.length, count - 1);
  });

  it('hands few or scattered pieces to the calling thread', () => {
    const paths = specs.map((s) => s.path.join('/'));
    const sizes = specs.map((s) => (s.padding === true ? Infinity : s.length));
    const some = new Uint8Array(Math.ceil(count / 8));
    some[0] = 0x80;
    some[some.length - 1] = 0xff;
    const plan = planRecheck(paths, t.files, t.layout, some, sizes);
    assert.equal(plan.pool.length, 0);
  });

  it('gives the same verdicts as hashing piece by piece', async () => {
    const data = contentOf(t, 7);
    const hashes = hashesOf(t, data);
    const paths = await writeTree(t, dir, data);
    await rm(paths[1]!);
    const badC = 3 * MiB + 5; // inside C
    const badE = 2 * MiB; // inside E
    await corrupt(paths[2]!, badC);
    await corrupt(paths[4]!, badE);
    const good = await recheckPieces(paths, t.files, t.layout, hashes, all(count), { workers: 2 });
    const failed = new Set([
      Math.floor((5 * MiB + 1000) / P),
      Math.floor((t.layout.offsets[2]! + badC) / P),
      Math.floor((t.layout.offsets[4]! + badE) / P),
    ]);
    const expected = [...Array(count).keys()].map((i) => (failed.has(i) ? '0' : '1')).join('');
    assert.equal(bitsOf(good, count), expected);
  });

  it('hashes the part of a big short file that is there', async () => {
    const tt = torrentOf([{ path: ['F'], length: 12 * MiB }], P);
    const layout = tt.layout;
    const data = contentOf(tt, 3);
    const paths = await writeTree(tt, dir, data);
    await writeFile(paths[0]!, data.subarray(0, 11 * MiB));
    const good = await recheckPieces(paths, tt.files, layout, hashesOf(tt, data), all(layout.pieceCount), { workers: 2 });
    const expected = [...Array(layout.pieceCount).keys()].map((i) => ((i + 1) * P <= 11 * MiB ? '1' : '0')).join('');
    assert.equal(bitsOf(good, layout.pieceCount), expected);
  });
});
