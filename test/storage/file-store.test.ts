import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fsError } from '../../src/storage/errors.js';
import type { Metainfo } from '../../src/metainfo/index.js';
import { openFileStore, recheckPieces, type FileStore } from '../../src/storage/index.js';
import { suiteTorrent } from './conformance.js';
import { contentOf, pieceOf, storageError, tempDir, torrentOf } from './helpers.js';

let dir: string;
let outside: string;
let cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  const a = await tempDir('fs');
  const b = await tempDir('outside');
  dir = a.dir;
  outside = b.dir;
  cleanups = [a.remove, b.remove];
});
afterEach(async () => {
  for (const c of cleanups) await c();
});

// A parsed torrent fits the store and the recheck as it is (checked by the compiler).
export const openParsed = (m: Metainfo, dir: string): Promise<FileStore> => openFileStore(m, dir);
export const recheckParsed = (m: Metainfo, s: FileStore): Promise<Uint8Array> => recheckPieces(s.paths, m.files, m.layout, m.pieces, new Uint8Array(0));

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);

describe('openFileStore', () => {
  it('lays a multi-file torrent out on disk byte for byte, without padding files', async () => {
    const t = suiteTorrent;
    const data = contentOf(t);
    const store = await openFileStore(t, dir);
    // The empty file exists from the start.
    assert.equal((await stat(join(dir, 'T', 'd.empty'))).size, 0);
    for (let i = t.layout.pieceCount - 1; i >= 0; i--) await store.writePiece(i, pieceOf(t, data, i));
    await store.close();
    assert.deepEqual(store.paths, t.files.map((f) => join(dir, 'T', ...f.path)));
    for (let i = 0; i < t.files.length; i++) {
      const f = t.files[i]!;
      if (f.padding) {
        assert.equal(await exists(store.paths[i]!), false, 'a padding file is never created');
        continue;
      }
      const expected = data.subarray(t.layout.offsets[i]!, t.layout.offsets[i]! + f.length);
      assert.deepEqual(new Uint8Array(await readFile(store.paths[i]!)), expected, f.path.join('/'));
    }
    assert.deepEqual((await readdir(join(dir, 'T'))).sort(), ['a.bin', 'd.empty', 'e.bin', 'sub']);
  });

  it('lets writes in flight finish when closed', async () => {
    const t = suiteTorrent;
    const data = contentOf(t);
    const store = await openFileStore(t, dir);
    const writes = [...Array(t.layout.pieceCount).keys()].map((i) => store.writePiece(i, pieceOf(t, data, i)));
    const closing = [store.close(), store.close()];
    await Promise.all([...writes, ...closing]);
    assert.deepEqual(new Uint8Array(await readFile(store.paths[3]!)), data.subarray(512, 1012));
  });

  it('puts a single-file torrent at <dir>/<name>', async () => {
    const t = torrentOf([{ path: ['movie.mkv'], length: 1000 }], 256, 'movie.mkv', true);
    const data = contentOf(t);
    const store = await openFileStore(t, join(dir, 'new', 'folder'));
    for (let i = 0; i < t.layout.pieceCount; i++) await store.writePiece(i, pieceOf(t, data, i));
    await store.close();
    assert.deepEqual(store.paths, [join(dir, 'new', 'folder', 'movie.mkv')]);
    assert.deepEqual(new Uint8Array(await readFile(store.paths[0]!)), data);
  });

  it('creates a file at its full length on its first write (sparse), and only files that are written', async () => {
    const t = torrentOf([{ path: ['big'], length: 64 * 1024 * 1024 }, { path: ['later'], length: 1000 }], 1 << 20);
    const store = await openFileStore(t, dir);
    await store.writePiece(3, contentOf(t).subarray(3 << 20, 4 << 20));
    assert.equal((await stat(store.paths[0]!)).size, 64 * 1024 * 1024);
    assert.equal(await exists(store.paths[1]!), false);
    const stats = await store.stat();
    assert.equal(stats[0]?.size, 64 * 1024 * 1024);
    assert.equal(stats[1], undefined);
    await store.close();
  });

  it("lets a file grow as written with preallocate: 'none'", async () => {
    const t = torrentOf([{ path: ['f'], length: 1000 }], 256);
    const data = contentOf(t);
    const store = await openFileStore(t, dir, { preallocate: 'none' });
    await store.writePiece(1, pieceOf(t, data, 1));
    assert.equal((await stat(store.paths[0]!)).size, 512);
    await store.close();
  });

  it('never shrinks an existing longer file', async () => {
    const t = torrentOf([{ path: ['f'], length: 300 }], 256);
    await mkdir(join(dir, 'T'));
    await writeFile(join(dir, 'T', 'f'), new Uint8Array(1000).fill(7));
    const store = await openFileStore(t, dir);
    await store.writePiece(0, pieceOf(t, contentOf(t), 0));
    await store.close();
    const disk = await readFile(join(dir, 'T', 'f'));
    assert.equal(disk.length, 1000);
    assert.deepEqual(new Uint8Array(disk.subarray(0, 256)), pieceOf(t, contentOf(t), 0));
  });

  it('works with more files than maxOpenFiles, keeping at most that many open', async () => {
    const t = torrentOf(
      Array.from({ length: 10 }, (_, i) => ({ path: [`f${i}`], length: 100 + i })),
      128,
    );
    const data = contentOf(t);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const linux = process.platform === 'linux';
    const store = await openFileStore(t, dir, { maxOpenFiles: 2 });
    const before = linux ? fds() : 0;
    for (let i = 0; i < t.layout.pieceCount; i++) await store.writePiece(i, pieceOf(t, data, i));
    for (let i = t.layout.pieceCount - 1; i >= 0; i--) assert.deepEqual(await store.read(i, 0, t.layout.pieceSize(i)), pieceOf(t, data, i));
    await Promise.all([...Array(t.layout.pieceCount).keys()].map((i) => store.read(i, 0, t.layout.pieceSize(i))));
    for (let k = 0; k < 10; k++) await nextTurn(); // let the evicted handles finish closing
    if (linux) assert.ok(fds() <= before + 2, `${fds() - before} more descriptors open`);
    await store.close();
    const all = Buffer.concat(await Promise.all(store.paths.map((p) => readFile(p))));
    assert.deepEqual(new Uint8Array(all), data);
  });

  it('refuses a folder that is a symlink leading outside the download folder, and writes nothing there', async () => {
    const t = torrentOf([{ path: ['a'], length: 10 }, { path: ['sub', 'x.bin'], length: 300 }], 256);
    await mkdir(join(dir, 'T'));
    await symlink(outside, join(dir, 'T', 'sub'));
    const store = await openFileStore(t, dir);
    await assert.rejects(store.writePiece(0, pieceOf(t, contentOf(t), 0)), storageError('unsafe-path'));
    await assert.rejects(store.read(1, 0, 10), storageError('unsafe-path'));
    await store.close();
    assert.deepEqual(await readdir(outside), []);
  });

  it('refuses a top folder that is a symlink leading outside', async () => {
    const t = torrentOf([{ path: ['x.bin'], length: 300 }], 256);
    await symlink(outside, join(dir, 'T'));
    const store = await openFileStore(t, dir);
    await assert.rejects(store.writePiece(0, pieceOf(t, contentOf(t), 0)), storageError('unsafe-path'));
    await store.close();
    assert.deepEqual(await readdir(outside), []);
  });

  it('refuses an empty file whose folder leads outside, at open', async () => {
    const t = torrentOf([{ path: ['sub', 'empty'], length: 0 }, { path: ['x'], length: 10 }], 256);
    await mkdir(join(dir, 'T'));
    await symlink(outside, join(dir, 'T', 'sub'));
    await assert.rejects(openFileStore(t, dir), storageError('unsafe-path'));
    assert.deepEqual(await readdir(outside), []);
  });

  it('refuses a file that is itself a symlink, for writing and for reading', async () => {
    const t = torrentOf([{ path: ['x.bin'], length: 300 }], 256);
    const secret = join(outside, 'secret');
    await writeFile(secret, 'do not touch');
    await mkdir(join(dir, 'T'));
    await symlink(secret, join(dir, 'T', 'x.bin'));
    const store = await openFileStore(t, dir);
    await assert.rejects(store.read(0, 0, 10), storageError('unsafe-path'));
    await assert.rejects(store.writePiece(0, pieceOf(t, contentOf(t), 0)), storageError('unsafe-path'));
    await store.close();
    assert.equal(await readFile(secret, 'utf8'), 'do not touch');
  });

  it('follows a symlinked folder that stays inside the download folder', async () => {
    const t = torrentOf([{ path: ['sub', 'x.bin'], length: 300 }], 256);
    await mkdir(join(dir, 'T'));
    await mkdir(join(dir, 'elsewhere'));
    await symlink(join(dir, 'elsewhere'), join(dir, 'T', 'sub'));
    const data = contentOf(t);
    const store = await openFileStore(t, dir);
    for (let i = 0; i < t.layout.pieceCount; i++) await store.writePiece(i, pieceOf(t, data, i));
    await store.close();
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'elsewhere', 'x.bin'))), data);
  });

  it("refuses a torrent whose paths would escape with 'unsafe-path'", async () => {
    const t = torrentOf([{ path: ['..', 'escape'], length: 10 }], 256);
    await assert.rejects(openFileStore(t, dir), storageError('unsafe-path'));
    assert.deepEqual(await readdir(dir), []);
  });

  it('writes Windows-safe names when asked', async () => {
    const t = torrentOf([{ path: ['CON.txt'], length: 10 }, { path: ['a<b>?.txt'], length: 10 }, { path: ['dot.'], length: 10 }], 256);
    const data = contentOf(t);
    const store = await openFileStore(t, dir, { windowsSafe: true });
    await store.writePiece(0, pieceOf(t, data, 0));
    await store.close();
    assert.deepEqual((await readdir(join(dir, 'T'))).sort(), ['CON_.txt', 'a_b__.txt', 'dot_']);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'T', 'a_b__.txt'))), data.subarray(10, 20));
  });

  it('keeps files that collide after case folding or NFC apart', async () => {
    const t = torrentOf(
      [
        { path: ['Readme.txt'], length: 10 },
        { path: ['README.txt'], length: 10 },
        { path: ['caf\u00e9'], length: 10 },
        { path: ['cafe\u0301'], length: 10 },
      ],
      256,
    );
    const data = contentOf(t);
    const store = await openFileStore(t, dir);
    await store.writePiece(0, pieceOf(t, data, 0));
    await store.close();
    assert.deepEqual(store.paths.map((p) => p.slice(join(dir, 'T').length + 1)), ['Readme.txt', 'README_1.txt', 'caf\u00e9', 'cafe\u0301_1']);
    for (let i = 0; i < 4; i++) assert.deepEqual(new Uint8Array(await readFile(store.paths[i]!)), data.subarray(i * 10, i * 10 + 10));
  });

  it("reports a missing file on read as 'io'", async () => {
    const t = torrentOf([{ path: ['x'], length: 300 }], 256);
    const store = await openFileStore(t, dir);
    await assert.rejects(store.read(0, 0, 10), storageError('io'));
    await store.close();
  });

  it("reports a read-only folder as 'access'", { skip: process.platform === 'win32' || process.getuid?.() === 0 }, async () => {
    const { chmod } = await import('node:fs/promises');
    const t = torrentOf([{ path: ['x'], length: 300 }], 256);
    await mkdir(join(dir, 'T'));
    await chmod(join(dir, 'T'), 0o500);
    const store = await openFileStore(t, dir);
    try {
      await assert.rejects(store.writePiece(0, pieceOf(t, contentOf(t), 0)), storageError('access'));
    } finally {
      await store.close();
      await chmod(join(dir, 'T'), 0o700);
    }
  });

  it('stats every file: undefined when missing, a fixed stat for padding files', async () => {
    const t = suiteTorrent;
    const store = await openFileStore(t, dir);
    await store.writePiece(0, pieceOf(t, contentOf(t), 0));
    await store.flush();
    const stats = await store.stat();
    assert.equal(stats.length, t.files.length);
    assert.equal(stats[0]?.size, 300);
    assert.equal(stats[1], undefined);
    assert.deepEqual(stats[2], { size: 112, mtimeMs: 0 }); // padding
    assert.equal(stats[4]?.size, 0); // the empty file
    assert.equal(typeof stats[0]?.mtimeMs, 'number');
    await store.close();
  });

  it('maps errno codes to StorageError codes, with the path', () => {
    const errno = (code: string): Error => Object.assign(new Error(code), { code });
    const cases: [string, string][] = [['ENOSPC', 'disk-full'], ['EDQUOT', 'disk-full'], ['EACCES', 'access'], ['EPERM', 'access'], ['EROFS', 'access'], ['ELOOP', 'unsafe-path'], ['EIO', 'io'], ['EISDIR', 'io']];
    for (const [code, expected] of cases) {
      const e = fsError(errno(code), 'write', '/x/y');
      assert.equal(e.code, expected, code);
      assert.equal(e.path, '/x/y');
      assert.match(e.message, /\/x\/y/);
    }
  });
});
