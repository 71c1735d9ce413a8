// Metainfo interoperability: .torrent files made by peerkit must be
// byte-for-byte the torrents mktorrent makes from the same data (same
// infohash), libtorrent must read them the way peerkit says, and peerkit
// must read what mktorrent and libtorrent write. Every tool runs as a
// subprocess, the way a user runs it, and the assertions are about what the
// user sees: the printed infohash, the JSON of `peerkit info --json`.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { hasCommand, libtorrentPython, peerkit, python, requireTool, run } from './tools.js';

const TRACKER = 'http://tracker.example:6969/announce';

/*
 * The folder's contents. Each entry is there for a reason:
 * - "a/b/y", "a-c/x", "a.txt": '-' < '.' < '/' in bytes, so sorting whole
 *   paths ("a-c/x", "a.txt", "a/b/y") and sorting component by component
 *   ("a/b/y", "a-c/x", "a.txt") disagree. mktorrent sorts whole paths; the
 *   file order is part of the infohash.
 * - "B.txt": upper case sorts before lower case byte-wise but not in a
 *   locale-aware sort; also exactly one 32 KiB piece long.
 * - non-ASCII names and spaces must be stored as the same UTF-8 bytes.
 * - an empty file and hidden files/folders are included by mktorrent and
 *   libtorrent alike, so peerkit must include them by default too.
 * - other sizes are not multiples of any piece length used here, so files
 *   straddle piece boundaries and the last piece is short.
 */
const TREE: readonly { path: string; size: number }[] = [
  { path: 'a/b/y', size: 70_001 },
  { path: 'a-c/x', size: 1_234 },
  { path: 'a.txt', size: 40_000 },
  { path: 'B.txt', size: 32_768 },
  { path: 'Über Sänger/日本語/lied.bin', size: 50_000 },
  { path: 'Über Sänger/cover art.jpg', size: 1 },
  { path: 'empty', size: 0 },
  { path: '.hidden', size: 3 },
  { path: '.config/settings', size: 100 },
  { path: 'deep/1/2/3/file', size: 65_537 },
];
const FOLDER_NAME = 'Sammlung 日本';
const SINGLE_NAME = 'Über Sänger.flac';
const SINGLE_SIZE = 3 * 32_768 + 1_234;

interface FileView {
  path: string;
  length: number;
}
/** What a torrent describes, as both `peerkit info --json` and lt_info.py print it. */
interface TorrentView {
  infoHash: string;
  name: string;
  length: number;
  pieceLength: number;
  pieces: number;
  files: FileView[];
}
interface Source {
  label: string;
  path: string;
  name: string;
  /** The files in mktorrent's order (byte-wise by whole path), as "name/sub/file" for a folder. */
  files: FileView[];
}

let work: string;
let single: Source;
let folder: Source;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'peerkit-interop-metainfo-'));
  const singlePath = join(work, 'single', SINGLE_NAME);
  await mkdir(dirname(singlePath), { recursive: true });
  await writeFile(singlePath, randomBytes(SINGLE_SIZE));
  single = { label: 'single file', path: singlePath, name: SINGLE_NAME, files: [{ path: SINGLE_NAME, length: SINGLE_SIZE }] };

  const folderPath = join(work, 'folder', FOLDER_NAME);
  for (const f of TREE) {
    await mkdir(dirname(join(folderPath, f.path)), { recursive: true });
    await writeFile(join(folderPath, f.path), randomBytes(f.size));
  }
  const sorted = [...TREE].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const files = sorted.map((f) => ({ path: `${FOLDER_NAME}/${f.path}`, length: f.size }));
  folder = { label: 'folder', path: folderPath, name: FOLDER_NAME, files };
  await mkdir(join(work, 'out'));
});

after(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

const mktorrent = hasCommand('mktorrent');
const ltPython = libtorrentPython();

let outputs = 0;
/** A fresh output path: mktorrent refuses to overwrite a file. */
function outFile(tag: string): string {
  outputs += 1;
  return join(work, 'out', `${String(outputs)}-${tag}.torrent`);
}

/**
 * The infohash of a .torrent, computed here from the raw bytes: SHA-1 of the
 * exact bytes of the "info" value. A few lines of bencode scanning, written
 * independently of peerkit's decoder so that peerkit is not its own judge.
 */
function infoBytes(torrent: Buffer): Buffer {
  // Index just past the bencoded value that starts at i.
  const skip = (i: number): number => {
    const c = torrent[i];
    if (c === 0x69) return torrent.indexOf(0x65, i) + 1; // i<n>e
    if (c === 0x6c || c === 0x64) {
      // l...e, d...e
      let j = i + 1;
      while (torrent[j] !== 0x65) j = skip(j);
      return j + 1;
    }
    const colon = torrent.indexOf(0x3a, i); // <len>:<bytes>
    return colon + 1 + Number(torrent.subarray(i, colon).toString('latin1'));
  };
  assert.equal(torrent[0], 0x64, 'a .torrent is a bencoded dictionary');
  for (let i = 1; torrent[i] !== 0x65 && i < torrent.length; ) {
    const keyEnd = skip(i);
    const key = torrent.subarray(torrent.indexOf(0x3a, i) + 1, keyEnd).toString('latin1');
    const valueEnd = skip(keyEnd);
    if (key === 'info') return torrent.subarray(keyEnd, valueEnd);
    i = valueEnd;
  }
  throw new Error('no info dictionary in the .torrent');
}
const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

/** Where two info dictionaries first differ, with the bytes around it: a file order or key mismatch is visible at once. */
function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i += 1;
  // Printable ASCII as is, any other byte (SHA-1s, UTF-8) as \xNN.
  const show = (x: Buffer) => [...x].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('');
  const around = (x: Buffer) => show(x.subarray(Math.max(0, i - 40), i + 60));
  return `info dictionaries differ at byte ${String(i)}:\n  peerkit:   ${around(a)}\n  mktorrent: ${around(b)}`;
}

/** `peerkit create`, returning the infohash it printed for the user. */
async function peerkitCreate(src: string, out: string, pieceLength: string, extra: readonly string[] = []): Promise<string> {
  const { stdout } = await peerkit(['create', src, '-t', TRACKER, '-l', pieceLength, '-o', out, '-f', ...extra]);
  const m = /^infohash ([0-9a-f]{40})$/m.exec(stdout);
  assert.ok(m, `peerkit create printed no infohash line:\n${stdout}`);
  return m[1]!;
}

/** `peerkit info --json`, trimmed to the fields libtorrent also reports. */
async function peerkitInfo(torrent: string): Promise<{ view: TorrentView; private: boolean; trackers: string[][] }> {
  const { stdout } = await peerkit(['info', '--json', torrent]);
  const j = JSON.parse(stdout) as TorrentView & { private: boolean; trackers: string[][]; files: (FileView & { offset: number })[] };
  const files = j.files.map((f) => ({ path: f.path, length: f.length }));
  const view = { infoHash: j.infoHash, name: j.name, length: j.length, pieceLength: j.pieceLength, pieces: j.pieces, files };
  return { view, private: j.private, trackers: j.trackers };
}

async function libtorrentInfo(torrent: string): Promise<TorrentView> {
  return JSON.parse((await python(ltPython!, 'lt_info.py', [torrent])).stdout) as TorrentView;
}

const total = (s: Source) => s.files.reduce((n, f) => n + f.length, 0);
const kib = (n: number) => `${String(n / 1024)}K`;

test('peerkit create makes the same torrent as mktorrent', async (t) => {
  if (!requireTool(t, 'mktorrent', mktorrent, 'mktorrent')) return;
  // mktorrent 1.1 takes the piece length as a power of two and accepts 2^15
  // (32 KiB) to 2^28, so 16 KiB cannot be compared with it.
  for (const src of [single, folder]) {
    for (const exp of [15, 16]) {
      for (const priv of [false, true]) {
        const pieceLength = 2 ** exp;
        await t.test(`${src.label}, ${kib(pieceLength)} pieces${priv ? ', private' : ''}`, async () => {
          const theirs = outFile('mktorrent');
          await run('mktorrent', ['-a', TRACKER, '-l', String(exp), ...(priv ? ['-p'] : []), '-o', theirs, src.path]);
          const ours = outFile('peerkit');
          const printed = await peerkitCreate(src.path, ours, kib(pieceLength), priv ? ['--private'] : []);

          const ourInfo = infoBytes(await readFile(ours));
          const theirInfo = infoBytes(await readFile(theirs));
          assert.equal(printed, sha1(ourInfo), 'the infohash peerkit prints is the SHA-1 of the info dictionary it wrote');
          assert.equal(printed, sha1(theirInfo), firstDifference(ourInfo, theirInfo));
        });
      }
    }
  }
});

test('libtorrent reads the torrents peerkit creates', async (t) => {
  if (!requireTool(t, 'libtorrent (Python bindings)', ltPython, 'python3-libtorrent')) return;
  for (const src of [single, folder]) {
    for (const pieceLength of [16_384, 32_768]) {
      await t.test(`${src.label}, ${kib(pieceLength)} pieces`, async () => {
        const out = outFile('peerkit');
        const printed = await peerkitCreate(src.path, out, kib(pieceLength));
        const lt = await libtorrentInfo(out);
        const length = total(src);
        assert.deepEqual(lt, {
          infoHash: printed,
          name: src.name,
          length,
          pieceLength,
          pieces: Math.ceil(length / pieceLength),
          files: src.files,
        });
        // And `peerkit info` tells the user the same story as libtorrent.
        assert.deepEqual((await peerkitInfo(out)).view, lt);
      });
    }
  }
});

/** Check `peerkit info --json` on a third-party torrent against libtorrent's reading of it. */
async function assertPeerkitReads(torrent: string, src: Source, expect: { pieceLength?: number; private?: boolean; sameOrder: boolean }) {
  const lt = await libtorrentInfo(torrent);
  const ours = await peerkitInfo(torrent);
  assert.deepEqual(ours.view, lt);
  assert.deepEqual(ours.trackers, [[TRACKER]]);
  assert.equal(ours.private, expect.private ?? false);
  assert.equal(ours.view.length, total(src));
  if (expect.pieceLength !== undefined) assert.equal(ours.view.pieceLength, expect.pieceLength);
  // mktorrent's order is fixed (whole paths, byte-wise); libtorrent keeps
  // the directory listing's order, so only the set of files is known.
  const key = (f: FileView) => `${f.path}\0${String(f.length)}`;
  if (expect.sameOrder) assert.deepEqual(ours.view.files, src.files);
  else assert.deepEqual(ours.view.files.map(key).sort(), src.files.map(key).sort());
}

test('peerkit info reads torrents made by mktorrent', async (t) => {
  if (!requireTool(t, 'mktorrent', mktorrent, 'mktorrent')) return;
  if (!requireTool(t, 'libtorrent (Python bindings)', ltPython, 'python3-libtorrent')) return;
  for (const src of [single, folder]) {
    for (const priv of [false, true]) {
      await t.test(`${src.label}${priv ? ', private' : ''}`, async () => {
        const out = outFile('mktorrent');
        await run('mktorrent', ['-a', TRACKER, '-l', '15', ...(priv ? ['-p'] : []), '-o', out, src.path]);
        await assertPeerkitReads(out, src, { pieceLength: 32_768, private: priv, sameOrder: true });
      });
    }
  }
});

test('peerkit info reads torrents made by libtorrent (v1)', async (t) => {
  if (!requireTool(t, 'libtorrent (Python bindings)', ltPython, 'python3-libtorrent')) return;
  for (const src of [single, folder]) {
    // 0 lets libtorrent choose the piece length, as its users usually do.
    for (const pieceLength of [16_384, 0]) {
      await t.test(`${src.label}, ${pieceLength === 0 ? "libtorrent's default" : kib(pieceLength)} pieces`, async () => {
        const out = outFile('libtorrent');
        await python(ltPython!, 'lt_create.py', [src.path, out, TRACKER, String(pieceLength)]);
        await assertPeerkitReads(out, src, { ...(pieceLength !== 0 && { pieceLength }), sameOrder: false });
      });
    }
  }
});
