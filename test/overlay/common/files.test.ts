import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { createServer, type RequestListener } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OverlayError } from '../../../src/overlay/common/errors.js';
import type { Source } from '../../../src/overlay/common/shared.js';
import { downloadFile, downloadFromAny, partPath } from '../../../src/overlay/files/download.js';
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

  it('an interrupted download resumes from its part file (named by the hash) with a range request', async () => {
    const out = join(dir, 'dl2');
    await mkdir(out);
    await writeFile(partPath(out, sha1(big)), big.subarray(0, 1_000_000));
    const before = server.stats.bytesSent;
    const r = await downloadFile(source('big file.bin'), out);
    assert.deepEqual(await readFile(r.path), big);
    assert.equal(server.stats.bytesSent - before, big.length - 1_000_000);
    await assert.rejects(stat(partPath(out, sha1(big))), 'the part file is gone once the file has its name');
  });

  it('a part file holding wrong bytes is fetched again from the start', async () => {
    const out = join(dir, 'dl2b');
    await mkdir(out);
    await writeFile(partPath(out, sha1(big)), Buffer.alloc(1000, 1));
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

  it('a different file already at the target is not overwritten: the download is saved as "name (hash prefix).ext"', async () => {
    const out = join(dir, 'dl5');
    await mkdir(out);
    await writeFile(join(out, 'copy.txt'), 'mine');
    const hash = source('copy.txt').hash;
    const r = await downloadFile(source('copy.txt'), out);
    assert.equal(r.path, join(out, `copy (${hash.slice(0, 8)}).txt`));
    assert.equal(await readFile(r.path, 'utf8'), 'hello overlay\n');
    assert.equal(await readFile(join(out, 'copy.txt'), 'utf8'), 'mine');
    // Asked again, it is found under that name.
    assert.deepEqual(await downloadFile(source('copy.txt'), out), { path: r.path, fetched: false });
  });

  it('a name matching a part file of the user\'s cannot resume into it or delete it', async () => {
    const out = join(dir, 'dl5b');
    await mkdir(out);
    await writeFile(join(out, 'victim.txt.part'), 'precious');
    const r = await downloadFile(source('copy.txt', { name: 'victim.txt' }), out);
    assert.equal(await readFile(r.path, 'utf8'), 'hello overlay\n');
    assert.equal(await readFile(join(out, 'victim.txt.part'), 'utf8'), 'precious');
  });

  it('a file created at the target while downloading is not overwritten', async () => {
    const out = join(dir, 'dl5c');
    let created = false;
    const r = await downloadFile(source('big file.bin'), out, {
      onProgress: () => {
        if (created) return;
        created = true;
        writeFileSync(join(out, 'big file.bin'), 'made meanwhile');
      },
    });
    assert.equal(await readFile(join(out, 'big file.bin'), 'utf8'), 'made meanwhile');
    assert.equal(r.path, join(out, `big file (${sha1(big).slice(0, 8)}).bin`));
    assert.deepEqual(await readFile(r.path), big);
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

/** An HTTP server on 127.0.0.1 that answers as the test says (a source that misbehaves). */
async function httpServer(handler: RequestListener): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Poll until `check` holds; fails after `ms`. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A client that sends a GET for `hash` and then never reads. */
function stalledClient(port: number, hash: string): Socket {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => undefined);
  s.pause();
  s.write(`GET /sha1/${hash} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  return s;
}

describe('the file server is bounded', () => {
  let dir: string;
  let files: LocalFile[];
  // Larger than what the loopback socket buffers take, so a client that does not read stalls the server.
  const huge = Buffer.alloc(16 * 1024 * 1024, 0x5a);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peerkit-files-bounds-'));
    await mkdir(join(dir, 'share'));
    await writeFile(join(dir, 'share/huge.bin'), huge);
    files = await scanShared([join(dir, 'share')]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('drops clients that send a GET and never read, after the idle timeout, closing their files', { timeout: 20_000 }, async () => {
    const server = await serveFiles(files, '127.0.0.1', 0, { idleTimeoutMs: 300 });
    const clients = [stalledClient(server.address.port, sha1(huge)), stalledClient(server.address.port, sha1(huge))];
    try {
      await until(() => server.stats.openFiles === 2, 'both responses to start');
      await until(() => server.stats.connections === 0 && server.stats.openFiles === 0, 'the stalled clients to be dropped', 10_000);
      assert.ok(server.stats.bytesSent < 2 * huge.length, 'they never got the whole file');
    } finally {
      for (const c of clients) c.destroy();
      await server.close();
    }
  });

  it('answers 503 to an address over its connection cap, and serves it again once its connections are gone', { timeout: 20_000 }, async () => {
    const server = await serveFiles(files, '127.0.0.1', 0, { idleTimeoutMs: 300, maxPerAddress: 2 });
    const url = `http://127.0.0.1:${server.address.port}/sha1/${sha1(huge)}`;
    const clients = [stalledClient(server.address.port, sha1(huge)), stalledClient(server.address.port, sha1(huge))];
    try {
      await until(() => server.stats.openFiles === 2, 'both responses to start');
      const busy = await fetch(url, { headers: { range: 'bytes=0-9' } });
      assert.equal(busy.status, 503);
      assert.match(await busy.text(), /too many connections/);
      assert.equal(server.stats.busy, 1);
      await until(() => server.stats.openFiles === 0, 'the stalled clients to be dropped', 10_000);
      const ok = await fetch(url, { headers: { range: 'bytes=0-9' } });
      assert.equal(ok.status, 206);
      assert.deepEqual(Buffer.from(await ok.arrayBuffer()), huge.subarray(0, 10));
    } finally {
      for (const c of clients) c.destroy();
      await server.close();
    }
  });
});

describe('downloads from strangers are bounded', () => {
  let dir: string;
  let files: LocalFile[];
  let server: FileServer;
  const text = Buffer.from('hello overlay, from a source that may misbehave\n');
  const big = Buffer.alloc(3 * 1024 * 1024, 0);
  for (let i = 0; i < big.length; i++) big[i] = (i * 13 + (i >> 9)) & 0xff;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peerkit-files-dl-'));
    await mkdir(join(dir, 'share'));
    await writeFile(join(dir, 'share/text.txt'), text);
    await writeFile(join(dir, 'share/big.bin'), big);
    files = await scanShared([join(dir, 'share')]);
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

  it('refuses a source whose size is over maxSize before fetching anything', async () => {
    const requests = server.stats.requests;
    await assert.rejects(
      downloadFile(source('big.bin'), join(dir, 'max'), { maxSize: 1024 * 1024 }),
      (e) => e instanceof OverlayError && e.code === 'too-large' && /over the limit of 1048576/.test(e.message),
    );
    assert.equal(server.stats.requests, requests);
    assert.equal((await downloadFile(source('text.txt'), join(dir, 'max'), { maxSize: text.length })).fetched, true);
  });

  it('gives up on a source that trickles a byte now and then (too slow), so the next is tried', { timeout: 15_000 }, async () => {
    const trickle = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-length': text.length });
      const timer = setInterval(() => res.write(text.subarray(0, 1)), 20);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const failed: string[] = [];
      const r = await downloadFromAny([source('text.txt', { address: { host: '127.0.0.1', port: trickle.port } }), source('text.txt')], join(dir, 'slow'), {
        minRate: { bytes: 1024, ms: 300 },
        onSourceFailed: (_s, e) => failed.push(e.message),
      });
      assert.deepEqual(await readFile(r.path), text);
      assert.equal(failed.length, 1);
      assert.match(failed[0]!, /is too slow \(under 1 KiB in 0\.3 s; stopped at byte \d+ of \d+\)/);
      assert.doesNotMatch(failed[0]!, /aborted|broke off/);
    } finally {
      await trickle.close();
    }
  });

  it('says a silent source "sent nothing", and an abort "interrupted", never "broke off ... aborted"', { timeout: 15_000 }, async () => {
    const stall = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-length': text.length });
      res.write(text.subarray(0, 5));
    });
    try {
      const at = { host: '127.0.0.1', port: stall.port };
      await assert.rejects(downloadFile(source('text.txt', { address: at }), join(dir, 'idle'), { idleTimeoutMs: 300 }), (e) => {
        assert.ok(e instanceof OverlayError && e.code === 'timeout', String(e));
        assert.match(e.message, /sent nothing for 0\.3 s \(stopped at byte 5 of \d+\)/);
        assert.doesNotMatch(e.message, /aborted|broke off/);
        return true;
      });
      const abort = new AbortController();
      const done = downloadFile(source('text.txt', { address: at }), join(dir, 'idle'), { signal: abort.signal, onProgress: () => abort.abort() });
      await assert.rejects(done, (e) => {
        assert.ok(e instanceof OverlayError, String(e));
        assert.match(e.message, /interrupted at byte \d+ of \d+/);
        assert.doesNotMatch(e.message, /aborted|broke off/);
        return true;
      });
    } finally {
      await stall.close();
    }
  });

  it('refuses a 206 whose Content-Range does not start at the offset asked for, or gives another size', async () => {
    const size = text.length;
    for (const contentRange of [`bytes 0-${size - 1}/${size}`, `bytes 5-${size + 4}/${size + 5}`]) {
      const liar = await httpServer((_req, res) => {
        const [, from, to] = /^bytes (\d+)-(\d+)/.exec(contentRange)!;
        const body = Buffer.concat([text, Buffer.alloc(5)]).subarray(Number(from), Number(to) + 1);
        res.writeHead(206, { 'content-range': contentRange, 'content-length': body.length });
        res.end(body);
      });
      const out = join(dir, `range-${liar.port}`);
      await mkdir(out);
      await writeFile(partPath(out, sha1(text)), text.subarray(0, 5));
      try {
        await assert.rejects(
          downloadFile(source('text.txt', { address: { host: '127.0.0.1', port: liar.port } }), out),
          (e) => e instanceof OverlayError && e.code === 'bad-content' && /Content-Range/.test(e.message),
        );
      } finally {
        await liar.close();
      }
    }
  });

  it('stops at a local disk error instead of trying the next source', { timeout: 30_000 }, async () => {
    // A child process whose files may not grow past 512 KiB (ulimit -f): writing the 3 MiB file fails with EFBIG,
    // as it would with ENOSPC on a full disk.
    const script = join(dir, 'child.mjs');
    const download = new URL('../../../src/overlay/files/download.js', import.meta.url).href;
    await writeFile(
      script,
      `import { downloadFromAny } from ${JSON.stringify(download)};
const [sources, out] = JSON.parse(process.argv[2]);
const failed = [];
try {
  await downloadFromAny(sources, out, { onSourceFailed: (_s, e) => failed.push(e.code) });
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ code: e.code, message: e.message, failed }));
}
`,
    );
    const requests = server.stats.requests;
    const out = join(dir, 'disk');
    const args = JSON.stringify([[source('big.bin'), source('big.bin')], out]);
    const child = spawn('sh', ['-c', 'ulimit -f 1024 && exec "$0" "$@"', process.execPath, script, args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    await new Promise((r) => child.once('close', r));
    const result = JSON.parse(stdout) as { code?: string; message?: string; failed?: string[] };
    assert.equal(result.code, 'disk', stdout);
    assert.match(result.message ?? '', /cannot write .*\.peerkit-part: the file is too large .*\(EFBIG\)/);
    assert.deepEqual(result.failed, [], 'no other source was tried');
    assert.equal(server.stats.requests - requests, 1);
  });
});
