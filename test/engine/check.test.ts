import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Session } from '../../src/engine/index.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { seededRandom } from '../../src/net/index.js';
import { openFileStore } from '../../src/storage/index.js';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';

/* The check of existing data when a torrent starts: a signal abandons it (a daemon told to stop does not hash on). */

let dir: string;
let session: Session;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-check-'));
  session = await Session.start({ random: seededRandom(3) }, { host: '127.0.0.1', port: 0 });
});
after(async () => {
  await session.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the check of existing data', () => {
  it('is abandoned by its signal: add rejects with the reason, and the torrent can be added again', async () => {
    const data = bytesOf(200_000, 8);
    await writeFile(join(dir, 'data.bin'), data);
    const m = parseTorrent(torrentBytes(singleInfo(data, 16384, 'data.bin')));
    const aborted = new AbortController();
    aborted.abort(new Error('the daemon is stopping'));
    const store = await openFileStore(m, dir);
    await assert.rejects(session.add(m, { store, fileStore: store, trackers: false, dht: false, signal: aborted.signal }), /the daemon is stopping/);
    await store.close();

    const again = await openFileStore(m, dir);
    const t = await session.add(m, { store: again, fileStore: again, trackers: false, dht: false });
    assert.equal(t.state, 'seeding');
    await t.stop();
  });
});
