import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { scanShared, serveFiles } from '../../src/overlay/index.js';
import { hasCommand, requireTool, run } from './tools.js';

/*
 * The search overlays hand out addresses of peerkit's HTTP file server
 * (GET /sha1/<hash> with byte ranges, docs/overlays.md). aria2, a download
 * tool we did not write, fetches from it with four connections at once
 * (each a range request), checks the SHA-1, and resumes a half-done file.
 */

test('aria2 downloads a shared file from the overlay file server in ranges, and resumes one', async (t) => {
  if (!requireTool(t, 'aria2c', hasCommand('aria2c'), 'aria2')) return;
  const dir = await mkdtemp(join(tmpdir(), 'peerkit-aria2-files-'));
  try {
    await mkdir(join(dir, 'share'));
    const data = randomBytes(6 * 1024 * 1024 + 123);
    const hash = createHash('sha1').update(data).digest('hex');
    await writeFile(join(dir, 'share', 'film.mkv'), data);
    const files = await scanShared([join(dir, 'share')]);
    const aria2 = (port: number, out: string, extra: readonly string[]) =>
      run('aria2c', ['--no-conf', '--quiet', '--allow-overwrite=true', '--auto-file-renaming=false', `--checksum=sha-1=${hash}`, '-d', out, '-o', 'film.mkv', ...extra, `http://127.0.0.1:${port}/sha1/${hash}`], { timeoutMs: 60_000 });

    const split = await serveFiles(files, '127.0.0.1', 0);
    try {
      await aria2(split.address.port, join(dir, 'split'), ['-x4', '-s4', '-k1M', '--min-split-size=1M']);
      assert.deepEqual(await readFile(join(dir, 'split', 'film.mkv')), data);
      assert.ok(split.stats.requests >= 2, `aria2 used ${split.stats.requests} request(s); ranges were expected`);
    } finally {
      await split.close();
    }

    // Half a file, no control file: aria2 -c continues from its length with a range request.
    const resume = await serveFiles(files, '127.0.0.1', 0);
    try {
      await mkdir(join(dir, 'resume'));
      await writeFile(join(dir, 'resume', 'film.mkv'), data.subarray(0, 2_000_000));
      await aria2(resume.address.port, join(dir, 'resume'), ['-c', '-x1', '-s1']);
      assert.deepEqual(await readFile(join(dir, 'resume', 'film.mkv')), data);
      // aria2 probes with a first request it abandons after a buffer or so; the first 2 MB are not sent again.
      assert.ok(resume.stats.bytesSent < data.length - 1_000_000, `${resume.stats.bytesSent} bytes read for a resume of ${data.length - 2_000_000}`);
    } finally {
      await resume.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
