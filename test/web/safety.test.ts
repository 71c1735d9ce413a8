import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import type { TorrentDetails, TorrentSummary } from '../../src/web/index.js';
import { bytesOf, multiInfo, torrentBytes } from '../metainfo/fixtures.js';
import { request, startDaemon, until, type RunningDaemon } from './daemon.js';

/*
 * What the daemon may touch on disk: removing a torrent with its data
 * deletes the torrent's files and nothing else.
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
