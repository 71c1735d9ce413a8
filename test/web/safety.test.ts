import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import type { ApiErrorBody, TorrentDetails, TorrentSummary } from '../../src/web/index.js';
import { bytesOf, multiInfo, singleInfo, torrentBytes } from '../metainfo/fixtures.js';
import { json, request, startDaemon, until, type RunningDaemon } from './daemon.js';

/*
 * What the daemon may touch on disk: removing a torrent with its data
 * deletes the torrent's files and nothing else; sharing a folder exposes
 * what is inside it and nothing of the daemon's own; a torrent removed and
 * added again at once is there, whole, after a restart; what a torrent
 * names reaches the log escaped.
 */

let dir: string;
let d: RunningDaemon;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-web-safety-'));
  d = await startDaemon(dir);
});
after(async () => {
  await d.stop();
  await rm(dir, { recursive: true, force: true });
});

const files = [
  { path: ['a.txt'], data: bytesOf(40_000, 3) },
  { path: ['sub', 'b.bin'], data: bytesOf(30_000, 4) },
];

async function add(torrent: Uint8Array, savePath: string, paused = false): Promise<string> {
  const r = await request(d, 'POST', `/api/torrents?savePath=${encodeURIComponent(savePath)}${paused ? '&paused=true' : ''}`, { body: torrent, type: 'application/x-bittorrent' });
  assert.equal(r.status, 201, r.text);
  return r.json<TorrentSummary>().infoHash;
}

describe('peerkit daemon: remove with data', () => {
  it("deletes the torrent's files and the folders it leaves empty, and keeps what else is in its folder", async () => {
    const torrent = torrentBytes(multiInfo(files, 16384, 'Photos'), { announce: 'http://127.0.0.1:9/announce' });
    const save = join(dir, 'save');
    await mkdir(join(save, 'Photos', 'sub'), { recursive: true });
    for (const f of files) await writeFile(join(save, 'Photos', ...f.path), f.data);
    // The user's own files, in a folder that happens to have the torrent's name.
    await writeFile(join(save, 'Photos', 'family.jpg'), 'mine');
    await mkdir(join(save, 'Photos', 'empty-of-mine'));
    const hash = await add(torrent, save);
    await until('seeding', async () => ((await request(d, 'GET', `/api/torrents/${hash}`)).json<TorrentDetails>().state === 'seeding' ? true : undefined));

    const r = await request(d, 'DELETE', `/api/torrents/${hash}?deleteData=true`);
    assert.equal(r.status, 200, r.text);
    assert.ok(!existsSync(join(save, 'Photos', 'a.txt')), "the torrent's files are deleted");
    assert.ok(!existsSync(join(save, 'Photos', 'sub')), 'with the folder they leave empty');
    assert.equal(await readFile(join(save, 'Photos', 'family.jpg'), 'utf8'), 'mine', 'a file that is not the torrent stays');
    assert.ok(existsSync(join(save, 'Photos', 'empty-of-mine')), 'and so does a folder the torrent does not name');
  });

  it('does not follow a symbolic link that stands where one of its folders would be', async () => {
    const torrent = torrentBytes(multiInfo(files, 16384, 'Linked'), { announce: 'http://127.0.0.1:9/announce' });
    const save = join(dir, 'linked');
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(join(save, 'Linked'), { recursive: true });
    await mkdir(elsewhere, { recursive: true });
    await writeFile(join(elsewhere, 'b.bin'), 'not the torrent');
    await symlink(elsewhere, join(save, 'Linked', 'sub'));
    const hash = await add(torrent, save, true);
    assert.equal(parseTorrent(torrent).infoHashHex, hash);
    const r = await request(d, 'DELETE', `/api/torrents/${hash}?deleteData=true`);
    assert.equal(r.status, 200, r.text);
    assert.equal(await readFile(join(elsewhere, 'b.bin'), 'utf8'), 'not the torrent');
  });
});

describe('peerkit daemon: where a torrent is saved', () => {
  it("refuses a savePath that is not a folder's name, or is the daemon's own folder", async () => {
    const torrent = torrentBytes(multiInfo(files, 16384, 'Elsewhere'), { announce: 'http://127.0.0.1:9/announce' });
    for (const [savePath, message] of [
      [`${dir}/a\0b`, /NUL/],
      [join(dir, 'config'), /the daemon's own folder/],
      [join(dir, 'data'), /the daemon's own folder/],
      [join(dir, 'data', 'torrents'), /the daemon's own folder/],
    ] as const) {
      const r = await request(d, 'POST', `/api/torrents?savePath=${encodeURIComponent(savePath)}`, { body: torrent, type: 'application/x-bittorrent' });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json<ApiErrorBody>().error, message);
      const m = await json(d, 'POST', '/api/torrents', { magnet: `magnet:?xt=urn:btih:${'b'.repeat(40)}&tr=http://127.0.0.1:9/announce`, savePath });
      assert.equal(m.status, 400, m.text);
    }
    assert.deepEqual((await request(d, 'GET', '/api/torrents')).json<TorrentSummary[]>().filter((t) => t.name === 'Elsewhere' || t.infoHash === 'b'.repeat(40)), []);
  });
});

describe('peerkit daemon: share', () => {
  const inState = (hash: string, state: string) => async (): Promise<true | undefined> => ((await request(d, 'GET', `/api/torrents/${hash}`)).json<TorrentDetails>().state === state ? true : undefined);

  it('refuses a folder with a symbolic link in it, naming the link: the link could lead anywhere', async () => {
    const secret = join(dir, 'secret.txt');
    await writeFile(secret, 'not to be shared');
    for (const [name, target] of [
      ['file-link', secret],
      ['folder-link', join(dir, 'config')],
    ] as const) {
      const folder = join(dir, `album-${name}`);
      await mkdir(join(folder, 'deep'), { recursive: true });
      await writeFile(join(folder, 'track.flac'), bytesOf(20_000, 5));
      await symlink(target, join(folder, 'deep', name));
      const r = await json(d, 'POST', '/api/share', { path: folder });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json<ApiErrorBody>().error, new RegExp(`${name} is a symbolic link`));
    }
    assert.deepEqual((await request(d, 'GET', '/api/torrents')).json<TorrentSummary[]>().filter((t) => t.name.startsWith('album')), []);
  });

  it("refuses a folder that holds the daemon's config (its token) or state", async () => {
    for (const path of [dir, join(dir, 'config'), join(dir, 'data')]) {
      const r = await json(d, 'POST', '/api/share', { path });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json<ApiErrorBody>().error, /holds the daemon's own files/);
    }
  });

  it('shares what a link given as the path points at, and seeds it', async () => {
    const real = join(dir, 'real-folder');
    await mkdir(real, { recursive: true });
    await writeFile(join(real, 'notes.txt'), bytesOf(30_000, 6));
    await symlink(real, join(dir, 'shortcut'));
    const r = await json(d, 'POST', '/api/share', { path: join(dir, 'shortcut') });
    assert.equal(r.status, 201, r.text);
    const t = r.json<TorrentSummary>();
    assert.equal(t.name, 'real-folder');
    await until('seeding', inState(t.infoHash, 'seeding'));
  });
});

describe('peerkit daemon: remove, then add the same torrent again at once', () => {
  it('the second add waits for the removal, and the torrent is whole after a restart', async () => {
    // A tracker that answers `started` and never answers `stopped`: the removal's stop takes its full 5 s.
    const held: ServerResponse[] = [];
    const tracker = createServer((req, res) => {
      if (req.url?.includes('event=stopped') === true) held.push(res);
      else res.end('d8:intervali1800e5:peers0:e');
    });
    await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
    try {
      const data = bytesOf(50_000, 9);
      const save = join(dir, 'again');
      await mkdir(save, { recursive: true });
      await writeFile(join(save, 'again.bin'), data);
      const torrent = torrentBytes(singleInfo(data, 16384, 'again.bin'), { announce: `http://127.0.0.1:${(tracker.address() as AddressInfo).port}/announce` });
      const hash = await add(torrent, save);
      await until('the tracker answered', async () => ((await request(d, 'GET', `/api/torrents/${hash}`)).json<TorrentDetails>().trackers[0]?.status === 'working' ? true : undefined));

      const removed = request(d, 'DELETE', `/api/torrents/${hash}`);
      await until('removed from the list', async () => ((await request(d, 'GET', `/api/torrents/${hash}`)).status === 404 ? true : undefined));
      assert.equal(await add(torrent, save), hash);
      assert.equal((await removed).status, 200);
      await until('seeding again', async () => ((await request(d, 'GET', `/api/torrents/${hash}`)).json<TorrentDetails>().state === 'seeding' ? true : undefined));

      assert.equal(await d.stop(), 0);
      d = await startDaemon(dir);
      const t = (await request(d, 'GET', `/api/torrents/${hash}`)).json<TorrentDetails>();
      assert.equal(t.error, null, 'its .torrent file is still there');
      await until('seeding after the restart', async () => ((await request(d, 'GET', `/api/torrents/${hash}`)).json<TorrentDetails>().state === 'seeding' ? true : undefined));
    } finally {
      for (const res of held) res.destroy();
      tracker.close();
    }
  });
});

describe("peerkit daemon: its log", () => {
  it("escapes what a torrent names (a hostile name cannot drive the terminal)", async () => {
    const name = 'evil\u001b]0;owned\u0007\u001b[2J';
    // An empty file is made when the torrent starts: that is when the folder in the way is met.
    const torrent = torrentBytes(multiInfo([{ path: ['empty.txt'], data: new Uint8Array(0) }, ...files], 16384, name), { announce: 'http://127.0.0.1:9/announce' });
    const save = join(dir, 'log');
    await mkdir(save, { recursive: true });
    // A file where the torrent's folder should be: the start fails, and the error names the path.
    await writeFile(join(save, name), 'in the way');
    const hash = await add(torrent, save);
    await until('the error', async () => ((await request(d, 'GET', `/api/torrents/${hash}`)).json<TorrentDetails>().state === 'error' ? true : undefined));
    await until('the log line', async () => (d.stderr().includes(hash) ? true : undefined));
    assert.match(d.stderr(), /evil\\u001b\]0;owned\\u0007\\u001b\[2J/);
    // eslint-disable-next-line no-control-regex -- control characters are what must not be there
    assert.doesNotMatch(d.stderr(), /[\u0007\u001b]/);
  });
});
