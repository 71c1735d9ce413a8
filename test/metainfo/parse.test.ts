import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { BEncodable } from '../../src/bencode/index.js';
import { MetainfoError, parseTorrent } from '../../src/metainfo/index.js';
import { bytesOf, multiInfo, piecesOf, singleInfo, torrentBytes } from './fixtures.js';

function rejects(bytes: Uint8Array, code: string, pattern?: RegExp): void {
  assert.throws(
    () => parseTorrent(bytes),
    (e: unknown) => {
      assert.ok(e instanceof MetainfoError, `expected a MetainfoError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      if (pattern !== undefined) assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('parseTorrent', () => {
  it('reads a single-file torrent', () => {
    const data = bytesOf(40_000);
    const m = parseTorrent(torrentBytes(singleInfo(data), { comment: 'hello', 'created by': 'test', 'creation date': 1_700_000_000 }));
    assert.equal(m.name, 'file.bin');
    assert.equal(m.length, 40_000);
    assert.equal(m.pieceLength, 16384);
    assert.equal(m.pieceCount, 3);
    assert.equal(m.multiFile, false);
    assert.deepEqual(m.files, [{ path: ['file.bin'], length: 40_000, offset: 0, padding: false }]);
    assert.deepEqual(m.announceList, [['http://127.0.0.1:8000/announce']]);
    assert.equal(m.comment, 'hello');
    assert.equal(m.createdBy, 'test');
    assert.equal(m.creationDate, 1_700_000_000);
    assert.equal(m.private, false);
  });

  it('reads a multi-file torrent with offsets and BEP 12/19/27 fields', () => {
    const info = multiInfo([
      { path: ['a', 'one.txt'], data: bytesOf(10_000, 1) },
      { path: ['Über Sänger.flac'], data: bytesOf(30_000, 2) },
    ]);
    const m = parseTorrent(
      torrentBytes({ ...info, private: 1 }, { 'announce-list': [['udp://t1:1', 'http://t2/a'], ['http://t3/a']], 'url-list': ['http://seed/'] }),
    );
    assert.equal(m.multiFile, true);
    assert.deepEqual(m.files.map((f) => [f.path.join('/'), f.length, f.offset]), [
      ['a/one.txt', 10_000, 0],
      ['Über Sänger.flac', 30_000, 10_000],
    ]);
    assert.deepEqual(m.announceList, [['udp://t1:1', 'http://t2/a'], ['http://t3/a']]);
    assert.deepEqual(m.urlList, ['http://seed/']);
    assert.equal(m.private, true);
  });

  it('takes the infohash over the original info bytes, even when not canonical', () => {
    // info keys out of order: a re-encode would sort them and change the hash.
    const data = bytesOf(100);
    const pieces = Buffer.from(piecesOf(data, 16384)).toString('latin1');
    const info = `d4:name1:x6:lengthi100e12:piece lengthi16384e6:pieces20:${pieces}e`;
    const file = Buffer.from(`d4:info${info}e`, 'latin1');
    const m = parseTorrent(file);
    assert.equal(m.infoHashHex, createHash('sha1').update(Buffer.from(info, 'latin1')).digest('hex'));
    assert.deepEqual(Buffer.from(m.infoBytes).toString('latin1'), info);
  });

  it('recognises BEP 47 padding files and lets them share a path', () => {
    const info = multiInfo([
      { path: ['a'], data: bytesOf(100) },
      { path: ['.pad', '16284'], data: new Uint8Array(16284) },
      { path: ['b'], data: bytesOf(100) },
      { path: ['.pad', '16284'], data: new Uint8Array(16284) },
      { path: ['c'], data: bytesOf(5) },
    ]);
    (info['files'] as { attr?: string }[])[1]!.attr = 'p';
    (info['files'] as { attr?: string }[])[3]!.attr = 'p';
    const m = parseTorrent(torrentBytes(info));
    assert.deepEqual(m.files.map((f) => f.padding), [false, true, false, true, false]);
  });

  it('rejects paths that would leave the download folder', () => {
    const data = bytesOf(10);
    const withPath = (path: string[]) => torrentBytes(multiInfo([{ path, data }]));
    rejects(withPath(['..', 'etc', 'passwd']), 'unsafe-path', /"\.\."/);
    rejects(withPath(['a', '..', '..', 'x']), 'unsafe-path');
    rejects(withPath(['.']), 'unsafe-path');
    rejects(withPath(['a', '', 'b']), 'unsafe-path', /empty/);
    rejects(withPath([]), 'unsafe-path', /empty path/);
    rejects(withPath(['a\0b']), 'unsafe-path', /NUL/);
    rejects(withPath(['x'.repeat(300)]), 'unsafe-path', /255/);
    rejects(torrentBytes(singleInfo(data, 16384, '..')), 'unsafe-path');
    rejects(torrentBytes(singleInfo(data, 16384, '')), 'unsafe-path');
  });

  it('rejects absolute paths', () => {
    const data = bytesOf(10);
    rejects(torrentBytes(multiInfo([{ path: ['/etc', 'passwd'], data }])), 'unsafe-path', /absolute/);
    rejects(torrentBytes(multiInfo([{ path: ['a', '\\Windows'], data }])), 'unsafe-path', /absolute/);
    rejects(torrentBytes(multiInfo([{ path: ['C:', 'x'], data }])), 'unsafe-path', /absolute/);
    rejects(torrentBytes(multiInfo([{ path: ['c:\\boot.ini'], data }])), 'unsafe-path', /absolute/);
    rejects(torrentBytes(singleInfo(data, 16384, '/etc/passwd')), 'unsafe-path', /absolute/);
  });

  it('makes separators inside a component safe', () => {
    const data = bytesOf(10);
    const m = parseTorrent(torrentBytes(multiInfo([{ path: ['AC/DC', 'x'], data }, { path: ['..\\..\\boot.ini'], data }], 16384, 'a/b')));
    assert.equal(m.name, 'a_b');
    assert.deepEqual(m.files.map((f) => f.path), [['AC_DC', 'x'], ['.._.._boot.ini']]);
  });

  it('rejects duplicate files and a file that is also a folder', () => {
    const data = bytesOf(10);
    rejects(torrentBytes(multiInfo([{ path: ['a'], data }, { path: ['a'], data }])), 'bad-value', /twice/);
    rejects(torrentBytes(multiInfo([{ path: ['a'], data }, { path: ['a', 'b'], data }])), 'bad-value', /"a" is both a file and a folder/);
    rejects(torrentBytes(multiInfo([{ path: ['x', 'a', 'b', 'c'], data }, { path: ['x', 'a', 'b'], data }])), 'bad-value', /"x\/a\/b" is both/);
    rejects(torrentBytes(multiInfo([{ path: Array.from({ length: 300 }, () => 'd'), data }])), 'unsafe-path', /256/);
  });

  it('keeps names that are not UTF-8 distinct, and keeps a leading BOM', () => {
    const data = bytesOf(10);
    const info = multiInfo([{ path: ['x'], data }, { path: ['y'], data }, { path: ['a'], data }, { path: ['z'], data }]);
    const files = info['files'] as { path: (string | Uint8Array)[] }[];
    files[0]!.path = [new Uint8Array([0xff])];
    files[1]!.path = [new Uint8Array([0xfe])];
    files[3]!.path = [new Uint8Array([0xef, 0xbb, 0xbf, 0x61])];
    const m = parseTorrent(torrentBytes(info));
    assert.deepEqual(m.files.map((f) => f.path[0]), ['\xff', '\xfe', 'a', '\ufeffa']);
  });

  it('prefers path.utf-8 and name.utf-8, and falls back when they are malformed', () => {
    const data = bytesOf(10);
    const info: Record<string, BEncodable | undefined> = { ...multiInfo([{ path: ['legacy'], data }]), 'name.utf-8': 'Ünicode' };
    (info['files'] as Record<string, unknown>[])[0]!['path.utf-8'] = ['Ü.txt'];
    assert.deepEqual(parseTorrent(torrentBytes(info)).files[0]!.path, ['Ü.txt']);
    assert.equal(parseTorrent(torrentBytes(info)).name, 'Ünicode');
    (info['files'] as Record<string, unknown>[])[0]!['path.utf-8'] = 5;
    const m = parseTorrent(torrentBytes({ ...info, 'name.utf-8': 7 }));
    assert.deepEqual(m.files[0]!.path, ['legacy']);
    assert.equal(m.name, 'folder');
  });

  it('validates pieces against the total length', () => {
    const data = bytesOf(40_000);
    const info = singleInfo(data);
    rejects(torrentBytes({ ...info, pieces: new Uint8Array(59) }), 'bad-value', /multiple of 20/);
    rejects(torrentBytes({ ...info, pieces: new Uint8Array(40) }), 'bad-value', /expected 3/);
    rejects(torrentBytes({ ...info, pieces: new Uint8Array(80) }), 'bad-value', /expected 3/);
    rejects(torrentBytes({ ...info, 'piece length': 0 }), 'bad-value');
    rejects(torrentBytes({ ...info, 'piece length': -16384 }), 'bad-value');
    rejects(torrentBytes({ ...info, length: -1 }), 'bad-value');
    rejects(torrentBytes({ ...info, length: 2n ** 64n }), 'bad-value', /too large/);
    rejects(torrentBytes({ ...singleInfo(new Uint8Array()), pieces: new Uint8Array() }), 'bad-value', /no data/);
  });

  it('rejects wrong-typed and missing fields in info', () => {
    const info = singleInfo(bytesOf(100));
    rejects(torrentBytes({ ...info, length: '100' }), 'wrong-type', /info\.length/);
    rejects(torrentBytes({ ...info, name: 5 }), 'wrong-type', /info\.name/);
    rejects(torrentBytes({ ...info, pieces: [1] }), 'wrong-type', /info\.pieces/);
    rejects(torrentBytes({ ...info, 'piece length': undefined }), 'missing-field', /piece length/);
    rejects(torrentBytes({ ...info, files: [] }), 'bad-value', /both length and files/);
    rejects(torrentBytes({ ...info, length: undefined }), 'bad-value', /neither/);
    rejects(torrentBytes({ ...info, length: undefined, files: 'x' }), 'wrong-type', /info\.files/);
    rejects(torrentBytes({ ...info, length: undefined, files: [{ length: 100 }] }), 'missing-field', /path/);
    rejects(torrentBytes({ ...info, length: undefined, files: [{ length: 100, path: [1] }] }), 'wrong-type', /path\[0\]/);
    rejects(torrentBytes({ ...info, length: undefined, files: [5] }), 'wrong-type');
    rejects(torrentBytes('x' as never), 'wrong-type');
    rejects(new Uint8Array(Buffer.from('d8:announce1:xe')), 'missing-field', /info/);
    rejects(new Uint8Array(Buffer.from('d4:infoi1ee')), 'wrong-type', /info/);
  });

  it('says v2-only torrents are not supported yet', () => {
    rejects(torrentBytes({ name: 'x', 'piece length': 16384, 'meta version': 2, 'file tree': {} }), 'unsupported', /v2/);
  });

  it('tolerates malformed informational fields, with a warning', () => {
    const m = parseTorrent(torrentBytes(singleInfo(bytesOf(10)), { comment: 5, 'creation date': 'yesterday', 'announce-list': 'x' }));
    assert.equal(m.comment, undefined);
    assert.equal(m.creationDate, undefined);
    assert.deepEqual(m.announceList, [['http://127.0.0.1:8000/announce']]);
    assert.equal(m.warnings.length, 3);
    for (const date of [1e15, 2n ** 70n]) {
      const far = parseTorrent(torrentBytes(singleInfo(bytesOf(10)), { 'creation date': date }));
      assert.equal(far.creationDate, undefined);
      assert.deepEqual(far.warnings, ['ignored creation date: out of range']);
    }
    const tiers = parseTorrent(torrentBytes(singleInfo(bytesOf(10)), { 'announce-list': ['http://a/', ['http://b/']] }));
    assert.deepEqual(tiers.announceList, [['http://b/']]);
    assert.equal(tiers.warnings.length, 1);
  });

  it('rejects input that is not bencode, or too large, with the offset', () => {
    rejects(new Uint8Array(Buffer.from('d4:infod')), 'bencode', /byte 8/);
    rejects(new Uint8Array(Buffer.from('<html>')), 'bencode', /byte 0/);
    assert.throws(() => parseTorrent(new Uint8Array(2000), { maxSize: 1000 }), /larger than/);
  });
});
