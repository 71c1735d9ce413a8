import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bytesOf, singleInfo, torrentBytes } from '../metainfo/fixtures.js';
import { isCleanFailure, peerkit } from './run.js';

/*
 * `peerkit get` and `peerkit seed` as a user meets them before any peer is
 * involved: usage mistakes (exit 2), failures (exit 1), always one line.
 * Downloads between real processes are in test/interop/engine.test.ts.
 */

let dir: string;
let torrent: string;
const data = bytesOf(200_000, 3);
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-cli-transfer-'));
  torrent = join(dir, 'file.torrent');
  await writeFile(torrent, torrentBytes(singleInfo(data, 16384, 'file.bin'), { announce: 'http://127.0.0.1:9/announce' }));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = (): Record<string, string> => ({ XDG_DATA_HOME: join(dir, 'xdg') });

describe('peerkit get / seed: usage and failures', () => {
  it('get without a torrent, with two, or with a bad rate is a usage error (exit 2)', async () => {
    for (const args of [['get'], ['get', 'a.torrent', 'b.torrent'], ['get', torrent, '--max-upload', 'fast'], ['get', torrent, '--port', '70000'], ['get', torrent, '--peer', 'nowhere']]) {
      const r = await peerkit(args, { env: env() });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(isCleanFailure(r), r.stderr);
    }
  });

  it('get of a magnet link with --no-dht and no tracker or peer says where peers could come from (exit 2)', async () => {
    const r = await peerkit(['get', `magnet:?xt=urn:btih:${'ab'.repeat(20)}`, '--no-dht'], { env: env() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /with --no-dht, a magnet link needs trackers \(tr=\) or peers/);
  });

  it('get of a magnet link without an info hash is refused (exit 1)', async () => {
    const r = await peerkit(['get', 'magnet:?dn=nothing', '--no-dht'], { env: env() });
    assert.equal(r.code, 1);
    assert.ok(isCleanFailure(r), r.stderr);
  });

  it('get of a missing or malformed .torrent fails with one line (exit 1)', async () => {
    const bad = join(dir, 'bad.torrent');
    await writeFile(bad, 'd4:infoi1ee');
    for (const t of [join(dir, 'missing.torrent'), bad]) {
      const r = await peerkit(['get', t, '-o', dir, '--host', '127.0.0.1', '--port', '0', '--no-dht'], { env: env() });
      assert.equal(r.code, 1, r.stderr);
      assert.ok(isCleanFailure(r), r.stderr);
    }
  });

  it('seed refuses data that does not match the torrent, saying how much matched', async () => {
    const wrong = join(dir, 'file.bin');
    const copy = Buffer.from(data);
    copy[100_000] = copy[100_000]! ^ 0xff; // one byte off: piece 6 of 13 fails
    await writeFile(wrong, copy);
    const r = await peerkit(['seed', torrent, wrong, '--host', '127.0.0.1', '--port', '0', '--no-dht'], { env: env() });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /does not match the torrent: 12 of 13 pieces verified/);
    assert.deepEqual(await readFile(wrong), copy, 'the data is left as it was');
  });

  it('get finds data already complete in the folder and exits 0 without a peer', async () => {
    await writeFile(join(dir, 'file.bin'), data);
    const r = await peerkit(['get', torrent, '-o', dir, '--host', '127.0.0.1', '--port', '0', '--no-dht'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing to download: every piece was already verified/);
  });

  it('remembers what it verified: on a fresh machine, the next run trusts its resume data instead of hashing again', async () => {
    const fresh = { XDG_DATA_HOME: join(dir, 'fresh-xdg') };
    await writeFile(join(dir, 'file.bin'), data);
    const args = ['get', torrent, '-o', dir, '--host', '127.0.0.1', '--port', '0', '--no-dht', '-v'];
    const first = await peerkit(args, { env: fresh });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /checked existing data: 13 pieces verified \(0 trusted from resume data, 13 hashed\)/);
    const second = await peerkit(args, { env: fresh });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /checked existing data: 13 pieces verified \(13 trusted from resume data, 0 hashed\)/);
  });
});
