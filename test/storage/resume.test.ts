import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { encode } from '../../src/bencode/index.js';
import { FileLayout } from '../../src/metainfo/index.js';
import {
  decodeResume,
  encodeResume,
  readResume,
  StorageError,
  trustedPieces,
  writeResume,
  type FileStat,
  type ResumeData,
} from '../../src/storage/index.js';
import { bitfield, bitsOf, storageError, tempDir } from './helpers.js';

const hash = new Uint8Array(20).fill(0xab);
const sample: ResumeData = {
  infoHash: hash,
  pieceCount: 11,
  have: bitfield('10110000001'),
  files: [{ size: 300, mtimeMs: 1_700_000_000_123.456 }, undefined, { size: 0, mtimeMs: -5 }],
};

describe('resume data codec', () => {
  it('round-trips', () => {
    assert.deepEqual(decodeResume(encodeResume(sample)), sample);
    const empty: ResumeData = { infoHash: hash, pieceCount: 0, have: new Uint8Array(0), files: [] };
    assert.deepEqual(decodeResume(encodeResume(empty)), empty);
  });

  it('round-trips any valid data (property)', () => {
    const stat = fc.option(fc.record({ size: fc.nat(), mtimeMs: fc.integer({ min: -1e12, max: 4e12 }).map((us) => us / 1000) }, { noNullPrototype: true }), { nil: undefined });
    const data = fc.integer({ min: 0, max: 100 }).chain((n) =>
      fc.record({
        infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }),
        pieceCount: fc.constant(n),
        have: fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((b) => bitfield(b.map((x) => (x ? '1' : '0')).join(''))),
        files: fc.array(stat, { maxLength: 20 }),
      }, { noNullPrototype: true }),
    );
    fc.assert(fc.property(data, (d) => assert.deepEqual(decodeResume(encodeResume(d)), d)));
  });

  it("rejects malformed input with 'bad-resume'", () => {
    const good = { 'peerkit resume': 1, 'info-hash': hash, pieces: 11, have: bitfield('10110000001'), files: [[300, 5], []] };
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      new TextEncoder().encode('not bencode'),
      encode([1, 2]),
      encode({ ...good, 'peerkit resume': 2 }),
      encode({ ...good, 'info-hash': hash.subarray(0, 19) }),
      encode({ ...good, pieces: -1 }),
      encode({ ...good, have: new Uint8Array(1) }),
      encode({ ...good, have: bitfield('10110000001').map((b, i) => (i === 1 ? b | 1 : b)) }), // a spare bit set
      encode({ ...good, files: 'x' }),
      encode({ ...good, files: [[300]] }),
      encode({ ...good, files: [[-1, 5]] }),
      encode({ ...good, files: [['a', 5]] }),
      encode({ ...good, files: [7] }),
      new Uint8Array(16 * 1024 * 1024 + 1),
    ];
    for (const c of cases) assert.throws(() => decodeResume(c), storageError('bad-resume'));
    decodeResume(encode(good));
  });

  it('throws nothing but bad-resume on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeResume(bytes);
        } catch (e) {
          assert.ok(e instanceof StorageError && e.code === 'bad-resume', String(e));
        }
      }),
    );
  });
});

describe('writeResume / readResume', () => {
  let dir: string;
  let remove: () => Promise<void>;
  beforeEach(async () => ({ dir, remove } = await tempDir('resume')));
  afterEach(() => remove());

  it('saves and loads, replacing the old file, with no temporary file left', async () => {
    const path = join(dir, 'x.resume');
    await writeResume(path, { ...sample, have: bitfield('00000000000') });
    await writeResume(path, sample);
    assert.deepEqual(await readResume(path, hash), sample);
    assert.deepEqual(await readResume(path), sample); // any torrent
    assert.deepEqual(await readdir(dir), ['x.resume']);
  });

  it('makes its folder on the first save (a machine that never saved any)', async () => {
    const path = join(dir, 'peerkit', 'resume', 'x.resume');
    await writeResume(path, sample);
    assert.deepEqual(await readResume(path, hash), sample);
  });

  it('leaves nothing behind when it cannot save', async () => {
    await writeFile(join(dir, 'a-file'), 'not a folder');
    await assert.rejects(writeResume(join(dir, 'a-file', 'x.resume'), sample), (e) => e instanceof StorageError && e.code === 'io');
    await rm(join(dir, 'a-file'));
    await mkdir(join(dir, 'taken.resume'));
    await assert.rejects(writeResume(join(dir, 'taken.resume'), sample), StorageError);
    assert.deepEqual(await readdir(dir), ['taken.resume']);
    assert.deepEqual(await readdir(join(dir, 'taken.resume')), []);
  });

  it('gives undefined for a missing, malformed or truncated file, or another torrent', async () => {
    const path = join(dir, 'x.resume');
    assert.equal(await readResume(path, hash), undefined);
    await writeResume(path, sample);
    assert.equal(await readResume(path, new Uint8Array(20)), undefined);
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 3));
    assert.equal(await readResume(path, hash), undefined);
    await writeFile(path, 'garbage');
    assert.equal(await readResume(path, hash), undefined);
    assert.equal(await readResume(dir, hash), undefined); // a folder
  });
});

describe('trustedPieces', () => {
  //   files   |--- a (300) ---|- b (100) -|------- c (500) -------|
  //   pieces  |--- 0 (256) ---|--- 1 (256) ---|--- 2 (256) --|-3 (132)-|
  const layout = new FileLayout([{ length: 300 }, { length: 100 }, { length: 500 }], 256);
  const at = (size: number, mtimeMs = 1000): FileStat => ({ size, mtimeMs });
  const saved = [at(300), at(100), at(500)];
  const resume = (have: string, files: (FileStat | undefined)[] = saved, pieceCount = 4): ResumeData => ({ infoHash: hash, pieceCount, have: bitfield(have), files });

  const cases: { name: string; resume: ResumeData | undefined; now: (FileStat | undefined)[]; trusted: string; recheck: string }[] = [
    { name: 'no resume, data on disk: recheck it all', resume: undefined, now: saved, trusted: '0000', recheck: '1111' },
    { name: 'no resume, nothing on disk', resume: undefined, now: [undefined, undefined, undefined], trusted: '0000', recheck: '0000' },
    { name: 'no resume, only a on disk', resume: undefined, now: [at(300), undefined, undefined], trusted: '0000', recheck: '1000' },
    { name: 'everything as saved', resume: resume('1111'), now: saved, trusted: '1111', recheck: '0000' },
    { name: 'some pieces had, files unchanged', resume: resume('1010'), now: saved, trusted: '1010', recheck: '0000' },
    { name: 'c touched since: its pieces are hashed', resume: resume('1111'), now: [at(300), at(100), at(500, 2000)], trusted: '1000', recheck: '0111' },
    { name: 'c touched, pieces not had are hashed too', resume: resume('1000'), now: [at(300), at(100), at(500, 2000)], trusted: '1000', recheck: '0111' },
    { name: 'b gone: its piece is neither', resume: resume('1111'), now: [at(300), undefined, at(500)], trusted: '1011', recheck: '0000' },
    { name: 'c cut short: only what is there is hashed', resume: resume('1111'), now: [at(300), at(100), at(200)], trusted: '1000', recheck: '0100' },
    { name: 'a grew: changed', resume: resume('1111'), now: [at(400), at(100), at(500)], trusted: '0011', recheck: '1100' },
    { name: 'sub-microsecond mtime noise is no change', resume: resume('1111'), now: [at(300, 1000.0000004), at(100), at(500)], trusted: '1111', recheck: '0000' },
    { name: 'a microsecond is a change', resume: resume('1111'), now: [at(300, 1000.001), at(100), at(500)], trusted: '0011', recheck: '1100' },
    { name: 'resume for another piece count: ignored', resume: resume('11111', saved, 5), now: saved, trusted: '0000', recheck: '1111' },
    { name: 'resume for another file count: ignored', resume: resume('1111', [at(300), at(100)]), now: saved, trusted: '0000', recheck: '1111' },
    { name: 'resume says missing, now present: hashed', resume: resume('1000', [at(300), undefined, undefined]), now: saved, trusted: '1000', recheck: '0111' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = trustedPieces(c.resume, c.now, layout);
      assert.deepEqual({ trusted: bitsOf(r.trusted, 4), recheck: bitsOf(r.recheck, 4) }, { trusted: c.trusted, recheck: c.recheck });
    });
  }

  it('trusts pieces across padding files when told which files are padding', () => {
    //   |-- a (200) --|pad (56)|--- c (300) ---|
    //   |---- 0 (256) --------|-- 1 (256) --|2|
    const padded = new FileLayout([{ length: 200 }, { length: 56 }, { length: 300 }], 256);
    const files = [at(200), undefined, at(300)];
    const r = { infoHash: hash, pieceCount: 3, have: bitfield('111'), files };
    const told = trustedPieces(r, files, padded, { padding: [false, true, false] });
    assert.equal(bitsOf(told.trusted, 3), '111');
    const notTold = trustedPieces(r, files, padded);
    assert.equal(bitsOf(notTold.trusted, 3), '011');
    assert.equal(bitsOf(trustedPieces(undefined, files, padded, { padding: [false, true, false] }).recheck, 3), '111');
  });

  it('refuses stats for another number of files', () => {
    assert.throws(() => trustedPieces(undefined, [undefined], layout), RangeError);
  });
});
