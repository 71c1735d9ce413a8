import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { autoPieceLength, createTorrent, hashPieces, MetainfoError, parseTorrent } from '../../src/metainfo/index.js';
import { bytesOf, piecesOf } from './fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-create-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(root: string, files: Record<string, Uint8Array>): Promise<void> {
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), data);
  }
}

describe('createTorrent', () => {
  it('creates a single-file torrent whose pieces hash the file', async () => {
    const data = bytesOf(50_000);
    await writeFile(join(dir, 'one.bin'), data);
    const { torrent, metainfo: m } = await createTorrent(join(dir, 'one.bin'), { pieceLength: 16384, trackers: [['http://127.0.0.1:1/announce']], comment: 'c', creationDate: 1 });
    assert.equal(m.name, 'one.bin');
    assert.equal(m.multiFile, false);
    assert.equal(m.length, 50_000);
    assert.deepEqual(Buffer.from(m.pieces), Buffer.from(piecesOf(data, 16384)));
    assert.deepEqual(m.announceList, [['http://127.0.0.1:1/announce']]);
    assert.equal(parseTorrent(torrent).infoHashHex, m.infoHashHex);
    // A single tracker is written as `announce` alone, as mktorrent does.
    assert.ok(!Buffer.from(torrent).includes('announce-list'));
  });

  it('orders folder files byte-wise by full path and hashes across file boundaries', async () => {
    const root = join(dir, 'folder');
    const files = {
      'a/b/y': bytesOf(20_000, 1),
      'a-c/x y': bytesOf(333, 2),
      'a.txt': bytesOf(1000, 3),
      'Ünï/é.bin': bytesOf(7000, 4),
      'B/up': bytesOf(2, 5),
      '.hidden': bytesOf(3, 6),
      empty: new Uint8Array(),
    };
    await tree(root, files);
    const { metainfo: m } = await createTorrent(root, { pieceLength: 16384 });
    const order = ['.hidden', 'B/up', 'a-c/x y', 'a.txt', 'a/b/y', 'empty', 'Ünï/é.bin'];
    assert.deepEqual(m.files.map((f) => f.path.join('/')), order);
    const all = Buffer.concat(order.map((p) => files[p as keyof typeof files]));
    assert.deepEqual(Buffer.from(m.pieces), Buffer.from(piecesOf(all, 16384)));

    const skipped = await createTorrent(root, { pieceLength: 16384, skipHidden: true });
    assert.ok(!skipped.metainfo.files.some((f) => f.path[0] === '.hidden'));
  });

  it('writes tiers, web seeds, private and source', async () => {
    await writeFile(join(dir, 'p.bin'), bytesOf(100));
    const { metainfo: m } = await createTorrent(join(dir, 'p.bin'), {
      trackers: [['http://a/1', 'udp://b:2'], ['http://c/3']],
      webSeeds: ['http://seed/p.bin'],
      private: true,
      source: 'peerkit',
    });
    assert.deepEqual(m.announceList, [['http://a/1', 'udp://b:2'], ['http://c/3']]);
    assert.deepEqual(m.urlList, ['http://seed/p.bin']);
    assert.equal(m.private, true);
    assert.equal(m.source, 'peerkit');
  });

  it('follows symlinks without looping, and skips dangling ones', async () => {
    const root = join(dir, 'links');
    await tree(root, { 'real/f': bytesOf(10) });
    await symlink(join(root, 'real'), join(root, 'real', 'loop'));
    await symlink(join(root, 'nowhere'), join(root, 'dangling'));
    const { metainfo: m } = await createTorrent(root);
    assert.deepEqual(m.files.map((f) => f.path.join('/')), ['real/f']);
  });

  it('refuses bad requests with a typed error', async () => {
    await writeFile(join(dir, 'x.bin'), bytesOf(10));
    await writeFile(join(dir, 'empty.bin'), new Uint8Array());
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => createTorrent(join(dir, 'missing')), /no such file/],
      [() => createTorrent(join(dir, 'empty.bin')), /holds no data/],
      [() => createTorrent(join(dir, 'x.bin'), { pieceLength: 1000 }), /power of two/],
      [() => createTorrent(join(dir, 'x.bin'), { pieceLength: 8192 }), /16 KiB/],
      [() => createTorrent(join(dir, 'x.bin'), { trackers: [['not a url']] }), /not a URL/],
      [() => createTorrent(join(dir, 'x.bin'), { trackers: [['ftp://x/']] }), /must use/],
      [() => createTorrent(join(dir, 'x.bin'), { name: '..' }), /not allowed/],
    ];
    for (const [p, message] of cases) await assert.rejects(p(), (e: unknown) => e instanceof MetainfoError && message.test(e.message));
  });
});

describe('autoPieceLength', () => {
  it('picks a power of two giving 1,000 to 2,000 pieces, within 16 KiB to 16 MiB', () => {
    assert.equal(autoPieceLength(1), 16384);
    assert.equal(autoPieceLength(2000 * 16384), 16384);
    assert.equal(autoPieceLength(2000 * 16384 + 1), 32768);
    assert.equal(autoPieceLength(1024 ** 3), 1024 ** 2);
    assert.equal(autoPieceLength(10 * 1024 ** 4), 16 * 1024 ** 2);
    // Above 2,000 x 16 MiB (about 32 GiB) the 16 MiB cap wins and the count grows.
    for (let total = 1e8; total < 2000 * 16 * 1024 ** 2; total *= 1.7) {
      const n = Math.ceil(total / autoPieceLength(total));
      assert.ok(n > 1000 && n <= 2000, `${total} bytes -> ${n} pieces`);
    }
  });
});

describe('hashPieces', () => {
  it('gives the same hashes on worker threads as in the calling thread', async () => {
    const files = [bytesOf(5 * 1024 * 1024 + 17, 7), bytesOf(3, 8), bytesOf(6 * 1024 * 1024, 9)];
    const sources = await Promise.all(
      files.map(async (data, i) => {
        const path = join(dir, `h${i}`);
        await writeFile(path, data);
        return { path, length: data.length };
      }),
    );
    let last = 0;
    const threaded = await hashPieces(sources, 65536, { workers: 2, onProgress: (done) => (last = done) });
    const inThread = await hashPieces(sources, 65536, { workers: 1 });
    assert.deepEqual(Buffer.from(threaded), Buffer.from(inThread));
    assert.deepEqual(Buffer.from(threaded), Buffer.from(piecesOf(Buffer.concat(files), 65536)));
    assert.equal(last, files.reduce((n, f) => n + f.length, 0));
  });

  it('reports a file that shrank while hashing', async () => {
    const path = join(dir, 'short');
    await writeFile(path, bytesOf(100));
    await assert.rejects(hashPieces([{ path, length: 20 * 1024 * 1024 }], 65536, { workers: 2 }), (e: unknown) => e instanceof MetainfoError && /shorter than expected/.test(e.message));
    await assert.rejects(hashPieces([{ path, length: 200 }], 65536), (e: unknown) => e instanceof MetainfoError && /shorter/.test(e.message));
  });
});
