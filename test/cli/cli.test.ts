import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTorrent } from '../../src/metainfo/index.js';
import { hostileCorpus } from '../metainfo/hostile-corpus.js';
import { bytesOf } from '../metainfo/fixtures.js';
import { isCleanFailure, peerkit } from './run.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('peerkit create / info', () => {
  it('creates a torrent, prints the infohash and magnet, and info reads it back', async () => {
    const src = join(dir, 'My Folder');
    await mkdir(join(src, 'sub dir'), { recursive: true });
    await writeFile(join(src, 'sub dir', 'Ünïcode.bin'), bytesOf(100_000));
    await writeFile(join(src, 'a.txt'), bytesOf(10));
    const out = join(dir, 'my.torrent');
    const r = await peerkit(['create', src, '-t', 'http://127.0.0.1:8000/announce', '-t', 'udp://127.0.0.1:8001', '-l', '32K', '-o', out, '--comment', 'hi', '-w', 'http://127.0.0.1/seed/']);
    assert.equal(r.code, 0, r.stderr);
    const m = parseTorrent(await readFile(out));
    assert.match(r.stdout, new RegExp(`^infohash ${m.infoHashHex}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^magnet   magnet:\\?xt=urn:btih:${m.infoHashHex}&dn=My%20Folder&tr=`, 'm'));
    assert.deepEqual(m.announceList, [['http://127.0.0.1:8000/announce'], ['udp://127.0.0.1:8001']]);
    assert.equal(m.pieceLength, 32768);

    const info = await peerkit(['info', out]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`^infohash +${m.infoHashHex}$`, 'm'));
    assert.match(info.stdout, /^name +My Folder$/m);
    assert.match(info.stdout, /^pieces +4 x 32 KiB$/m);
    assert.match(info.stdout, /My Folder\/sub dir\/Ünïcode\.bin/);
    assert.match(info.stdout, /^comment +hi$/m);

    const json = await peerkit(['info', '--json', out]);
    const parsed = JSON.parse(json.stdout) as { infoHash: string; files: { path: string; length: number }[]; trackers: string[][] };
    assert.equal(parsed.infoHash, m.infoHashHex);
    assert.deepEqual(parsed.files.map((f) => [f.path, f.length]), [['My Folder/a.txt', 10], ['My Folder/sub dir/Ünïcode.bin', 100_000]]);
  });

  it('refuses to overwrite an existing .torrent unless --force', async () => {
    const src = join(dir, 'f.bin');
    await writeFile(src, bytesOf(1000));
    const out = join(dir, 'f.torrent');
    assert.equal((await peerkit(['create', src, '-o', out])).code, 0);
    const again = await peerkit(['create', src, '-o', out]);
    assert.ok(isCleanFailure(again), again.stderr);
    assert.match(again.stderr, /already exists \(use --force/);
    assert.equal((await peerkit(['create', src, '-o', out, '--force'])).code, 0);
  });

  it('leaves its own output out when sharing the current folder', async () => {
    const share = join(dir, 'share');
    await mkdir(share);
    await writeFile(join(share, 'data.bin'), bytesOf(5000));
    const first = await peerkit(['create', '.'], { cwd: share });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /: 1 file, /);
    const again = await peerkit(['create', '.', '--force'], { cwd: share });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: 1 file, /);
    assert.equal(parseTorrent(await readFile(join(share, 'share.torrent'))).files.length, 1);
  });

  it('writes the .torrent to stdout with -o -', async () => {
    const src = join(dir, 'stdout.bin');
    await writeFile(src, bytesOf(3000));
    const r = await peerkit(['create', src, '-o', '-', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stderr) as { infoHash: string };
    assert.equal(parseTorrent(Buffer.from(r.stdout, 'latin1')).length, 3000);
    assert.match(report.infoHash, /^[0-9a-f]{40}$/);
  });

  it('escapes control characters from a torrent before printing them', async () => {
    const { encode } = await import('../../src/bencode/index.js');
    const { singleInfo } = await import('../metainfo/fixtures.js');
    const path = join(dir, 'escape.torrent');
    await writeFile(path, encode({ comment: 'hi\x1b[2J\x1b]0;owned\x07', info: singleInfo(bytesOf(10), 16384, 'evil\x1b[31m\u202etxt.exe') }));
    const r = await peerkit(['info', path]);
    assert.equal(r.code, 0, r.stderr);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.stdout, /[\x1b\x07\u202e]/);
    assert.match(r.stdout, /evil\\u001b\[31m\\u202etxt\.exe/);
  });

  it('treats --help after -- as an operand', async () => {
    const r = await peerkit(['info', '--', '--help']);
    assert.ok(isCleanFailure(r), r.stderr);
    assert.match(r.stderr, /--help: no such file/);
  });

  it('reads a magnet link', async () => {
    const r = await peerkit(['info', '--json', 'magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=x&tr=http%3A%2F%2Ft%2Fa']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      infoHash: 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a',
      infoHashV2: null,
      name: 'x',
      trackers: ['http://t/a'],
      webSeeds: [],
      peers: [],
      selectOnly: [],
    });
  });

  it('reports usage mistakes in one line with exit code 2', async () => {
    for (const args of [['create'], ['create', 'a', 'b'], ['create', '--bogus', 'x'], ['create', 'x', '-l', 'big'], ['create', 'x', '-l', '1000'], ['info'], ['frobnicate'], ['help', 'frobnicate']]) {
      const r = await peerkit(args);
      assert.ok(isCleanFailure(r), `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.code, 2, args.join(' '));
    }
  });

  it('reports failed operations in one line with exit code 1', async () => {
    await writeFile(join(dir, 'small.bin'), bytesOf(10));
    await mkdir(join(dir, 'bad names'), { recursive: true });
    await writeFile(Buffer.concat([Buffer.from(join(dir, 'bad names', 'x')), Buffer.from([0xff])]), 'x');
    for (const args of [
      ['create', join(dir, 'bad names'), '-o', join(dir, 'bad.torrent')],
      ['create', join(dir, 'small.bin'), '-o', join(dir, 'no', 'such', 'x.torrent')],
      ['info', join(dir, 'nope.torrent')],
      ['info', dir],
      ['info', 'magnet:?xt=urn:btih:zz'],
      ['create', join(dir, 'nope')],
      ['create', join(dir, 'small.bin'), '-t', 'localhost:80', '-o', join(dir, 'x.torrent')],
    ]) {
      const r = await peerkit(args);
      assert.ok(isCleanFailure(r), `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.code, 1, args.join(' '));
    }
  });

  it('prints help that lists the commands and their options', async () => {
    const r = await peerkit(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /create/);
    assert.match(r.stdout, /info/);
    const c = await peerkit(['create', '--help']);
    assert.match(c.stdout, /--piece-length/);
    assert.match(c.stdout, /--private/);
  });
});

describe('peerkit info on hostile input', () => {
  it('gives one clear line and exit 1 for every file of the hostile corpus', async () => {
    for (const [name, bytes] of hostileCorpus) {
      const path = join(dir, 'hostile.torrent');
      await writeFile(path, bytes);
      const r = await peerkit(['info', path]);
      assert.ok(isCleanFailure(r), `${name}: ${r.stderr}`);
      assert.equal(r.code, 1, name);
      assert.doesNotMatch(r.stderr, /unexpected error/, name);
    }
  });
});

describe('npm start', () => {
  it('runs the demo: makes a sample torrent and shows it', async () => {
    const r = await peerkit(['demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}infohash {2}[0-9a-f]{40}$/m);
    assert.match(r.stdout, /peerkit-sample\/music\/Über Sänger\.flac/);
  });
});
