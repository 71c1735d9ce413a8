import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OverlayError } from '../../../src/overlay/common/errors.js';
import type { Source } from '../../../src/overlay/common/shared.js';
import { downloadFile, downloadFromAny } from '../../../src/overlay/files/download.js';
import { scanShared, type LocalFile } from '../../../src/overlay/files/scan.js';
import { serveFiles, type FileServer } from '../../../src/overlay/files/server.js';

/* Shared files: scanning, the HTTP file server, and verified, resumable downloads over 127.0.0.1. */

const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

describe('sharing and downloading files', () => {
  let dir: string;
  let files: LocalFile[];
  let server: FileServer;
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peerkit-files-'));
    await mkdir(join(dir, 'share/sub'), { recursive: true });
    await writeFile(join(dir, 'share/big file.bin'), big);
    await writeFile(join(dir, 'share/sub/small.txt'), 'hello overlay\n');
    await writeFile(join(dir, 'share/sub/copy.txt'), 'hello overlay\n');
    await writeFile(join(dir, 'share/empty'), '');
    await writeFile(join(dir, 'outside.txt'), 'not shared');
    await symlink(join(dir, 'outside.txt'), join(dir, 'share/link.txt'));
    const skipped: string[] = [];
    files = await scanShared([join(dir, 'share')], { onSkip: (p) => skipped.push(p) });
    assert.deepEqual(skipped, [join(dir, 'share/link.txt')]);
    server = await serveFiles(files, '127.0.0.1', 0);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const source = (name: string, overrides: Partial<Source> = {}): Source => {
    const f = files.find((x) => x.name === name);
    assert.ok(f, name);
    return { hash: f.hash, name: f.name, size: f.size, address: server.address, ...overrides };
  };

  it('a folder is walked, links are not followed, equal contents are listed once', () => {
    assert.deepEqual(files.map((f) => f.name).sort(), ['big file.bin', 'copy.txt', 'empty']);
    assert.equal(files.find((f) => f.name === 'big file.bin')?.hash, sha1(big));
  });

  it('a download is byte-identical and verified; a second one finds it already there', async () => {
    const out = join(dir, 'dl1');
    const r = await downloadFile(source('big file.bin'), out);
    assert.equal(r.fetched, true);
    assert.deepEqual(await readFile(r.path), big);
    assert.equal((await downloadFile(source('big file.bin'), out)).fetched, false);
    const empty = await downloadFile(source('empty'), out);
    assert.equal((await stat(empty.path)).size, 0);
  });

  it('an interrupted download resumes from its .part file with a range request', async () => {
    const out = join(dir, 'dl2');
    await mkdir(out);
    await writeFile(join(out, 'big file.bin.part'), big.subarray(0, 1_000_000));
    const before = server.stats.bytesSent;
    const r = await downloadFile(source('big file.bin'), out);
    assert.deepEqual(await readFile(r.path), big);
    assert.equal(server.stats.bytesSent - before, big.length - 1_000_000);
  });

  it('a .part file holding wrong bytes is fetched again from the start', async () => {
    const out = join(dir, 'dl2b');
    await mkdir(out);
    await writeFile(join(out, 'big file.bin.part'), Buffer.alloc(1000, 1));
    const r = await downloadFile(source('big file.bin'), out);
    assert.deepEqual(await readFile(r.path), big);
  });

  it('bytes that do not hash to the content hash are not kept', async () => {
    const out = join(dir, 'dl3');
    await assert.rejects(
      downloadFile(source('copy.txt', { hash: 'f'.repeat(40) }), out),
      (e) => e instanceof OverlayError && e.code === 'bad-content',
    );
    await assert.rejects(
      downloadFile({ ...source('copy.txt'), hash: 'e'.repeat(40) }, out),
      /HTTP 404/,
    );
    await assert.rejects(stat(join(out, 'copy.txt')));
  });

  it('a hostile name is never used as a path: the file lands in the folder under its hash', async () => {
    const out = join(dir, 'dl4');
    const r = await downloadFile(source('copy.txt', { name: '../../escape.txt' }), out);
    assert.equal(r.path, join(out, source('copy.txt').hash));
    await assert.rejects(stat(join(dir, 'escape.txt')));
  });

  it('a different file already at the target is not overwritten', async () => {
    const out = join(dir, 'dl5');
    await mkdir(out);
    await writeFile(join(out, 'copy.txt'), 'mine');
    await assert.rejects(
      downloadFile(source('copy.txt'), out),
      (e) => e instanceof OverlayError && e.code === 'exists',
    );
    assert.equal(await readFile(join(out, 'copy.txt'), 'utf8'), 'mine');
  });

  it('a source that lies or is gone is skipped for the next one', async () => {
    const liar = createServer((_req, res) => res.end('garbage garbag\n')); // 14 bytes, like the real file
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    const addr = liar.address() as { port: number };
    const failed: string[] = [];
    const r = await downloadFromAny(
      [source('copy.txt', { address: { host: '127.0.0.1', port: addr.port } }), source('copy.txt', { address: { host: '127.0.0.1', port: 1 } }), source('copy.txt')],
      join(dir, 'dl6'),
      { onSourceFailed: (s, e) => failed.push(`${s.address.port}: ${(e as OverlayError).code}`) },
    );
    liar.close();
    assert.deepEqual(failed, [`${addr.port}: bad-content`, '1: unreachable']);
    assert.equal(await readFile(r.path, 'utf8'), 'hello overlay\n');
  });

  it('ranges: a suffix, an open range, and an unsatisfiable one', async () => {
    const url = `http://127.0.0.1:${server.address.port}/sha1/${sha1(big)}`;
    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), big.subarray(big.length - 10));
    const mid = await fetch(url, { headers: { range: 'bytes=5-9' } });
    assert.equal(mid.headers.get('content-range'), `bytes 5-9/${big.length}`);
    assert.deepEqual(Buffer.from(await mid.arrayBuffer()), big.subarray(5, 10));
    assert.equal((await fetch(url, { headers: { range: `bytes=${big.length}-` } })).status, 416);
    assert.equal((await fetch(`http://127.0.0.1:${server.address.port}/etc/passwd`)).status, 404);
    assert.equal((await fetch(url, { method: 'POST' })).status, 405);
  });
});
