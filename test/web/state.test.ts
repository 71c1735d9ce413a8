import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TorrentSummary } from '../../src/web/index.js';
import { isCleanFailure, peerkit } from '../cli/run.js';
import { json, request, startDaemon } from './daemon.js';

/*
 * A restart with a torrents.json or daemon.json the daemon cannot use (a
 * disk that filled up mid-write, a hand edit gone wrong): one line that
 * names the file and what is wrong with it, exit 1, and the file exactly as
 * it was, so nothing in it is lost. And a stop that nothing in progress
 * holds up.
 */

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-web-state-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hash = 'a'.repeat(40);
const entry = (o: Record<string, unknown>): string => JSON.stringify({ version: 1, torrents: [{ infoHash: hash, savePath: '/tmp', paused: true, addedAt: 1, uploaded: 0, downloaded: 0, ...o }] });

function daemon(name: string): Promise<Awaited<ReturnType<typeof peerkit>>> {
  const args = ['daemon', '--config-dir', join(dir, name, 'config'), '--data-dir', join(dir, name, 'data'), '--port', '0', '--peer-host', '127.0.0.1', '--peer-port', '0', '--no-tracker', '--no-dht'];
  return peerkit(args, { timeoutMs: 20_000 });
}

describe('peerkit daemon: a state it cannot use', () => {
  const cases: readonly [string, string, RegExp][] = [
    ['half-written', '{"version": 1, "torrents": [{"infoHash": "', /torrents\.json is not JSON/],
    ['a bad magnet link', entry({ magnet: 'magnet:?dn=nothing' }), /torrents\[0\]: magnet must be a magnet link for a{40}/],
    ['a relative save folder', entry({ savePath: 'downloads' }), /torrents\[0\]: savePath must be an absolute path/],
    ['a name that is a path', entry({ name: '../..' }), /torrents\[0\]: name must be a file or folder name/],
  ];
  for (const [what, text, message] of cases) {
    it(`torrents.json with ${what}: says so, starts nothing, changes nothing`, async () => {
      const name = what.replace(/\W+/g, '-');
      await mkdir(join(dir, name, 'data'), { recursive: true });
      const file = join(dir, name, 'data', 'torrents.json');
      await writeFile(file, text);
      const r = await daemon(name);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(isCleanFailure(r), r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /move it away to start with no torrents \(nothing was changed\)/);
      assert.equal(await readFile(file, 'utf8'), text);
    });
  }

  it('daemon.json that is not JSON: says so, and keeps it (it holds the token)', async () => {
    await mkdir(join(dir, 'config-broken', 'config'), { recursive: true });
    const file = join(dir, 'config-broken', 'config', 'daemon.json');
    await writeFile(file, '{"token": "abcdefghijklmnopqrstuvwx"');
    const r = await daemon('config-broken');
    assert.equal(r.code, 1, r.stderr);
    assert.ok(isCleanFailure(r), r.stderr);
    assert.match(r.stderr, /daemon\.json is not JSON .*delete it to start afresh/);
    assert.equal(await readFile(file, 'utf8'), '{"token": "abcdefghijklmnopqrstuvwx"');
  });
});

describe('peerkit daemon: stopping', () => {
  it('stops at once on SIGTERM while a magnet link waits for its metadata, and has it again at the next start', async () => {
    const home = join(dir, 'stopping');
    let d = await startDaemon(home);
    const hash = 'c'.repeat(40);
    // A tracker that refuses every connection: the metadata never comes.
    const r = await json(d, 'POST', '/api/torrents', { magnet: `magnet:?xt=urn:btih:${hash}&dn=Waiting&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce` });
    assert.equal(r.status, 201, r.text);
    assert.equal(await d.stop(), 0, `stopped by SIGKILL, not by itself\n${d.stdout()}${d.stderr()}`);
    assert.match(d.stdout(), /\nstopped\n$/);
    d = await startDaemon(home);
    try {
      const list = (await request(d, 'GET', '/api/torrents')).json<TorrentSummary[]>();
      assert.deepEqual(list.map((t) => [t.infoHash, t.name, t.state]), [[hash, 'Waiting', 'metadata']]);
    } finally {
      await d.stop();
    }
  });
});
