import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Session } from '../../src/engine/index.js';
import { seededRandom } from '../../src/net/index.js';
import { daemonPaths } from '../../src/web/index.js';
import { TorrentManager } from '../../src/web/manager.js';
import { summary } from '../../src/web/views.js';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';

/* The torrent manager on a loopback session: requests that arrive together end as the last one says. */

let dir: string;
let session: Session;
let manager: TorrentManager;
const data = bytesOf(100_000, 4);
const torrent = torrentBytes(singleInfo(data, 16384, 'both.bin'));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-web-manager-'));
  await writeFile(join(dir, 'both.bin'), data);
  session = await Session.start({ random: seededRandom(5) }, { host: '127.0.0.1', port: 0 });
  const paths = daemonPaths({ configDir: join(dir, 'config'), dataDir: join(dir, 'data') });
  manager = new TorrentManager({ session, paths, downloadDir: dir, httpGet: session.httpGet, dht: false, createdBy: 'test', log: () => undefined });
  await manager.restore();
});
after(async () => {
  await manager.close();
  await session.close();
  await rm(dir, { recursive: true, force: true });
});

/** Wait until every operation queued on the torrent has run. */
const settled = async (hash: string): Promise<void> => void (await manager.get(hash).serial(() => Promise.resolve()));

describe('TorrentManager: pause and resume at once', () => {
  it('resume then pause: paused, and nothing runs', async () => {
    const e = await manager.addTorrentFile(torrent, { paused: true });
    await Promise.all([manager.resume(e.infoHash), manager.pause(e.infoHash)]);
    await settled(e.infoHash);
    assert.equal(summary(e, 0).state, 'paused');
    assert.equal(e.torrent, undefined);
  });

  it('pause then resume: running', async () => {
    const e = manager.get(manager.all()[0]!.infoHash);
    await Promise.all([manager.pause(e.infoHash), manager.resume(e.infoHash)]);
    await settled(e.infoHash);
    assert.equal(summary(e, 0).state, 'seeding');
    assert.equal(e.saved.paused, false);
  });
});
