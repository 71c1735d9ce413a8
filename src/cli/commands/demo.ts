import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTorrent, formatMagnet, parseTorrent } from '../../metainfo/index.js';
import { parseCommandLine } from '../args.js';
import { formatBytes } from '../format.js';
import type { Command } from '../main.js';
import { VERSION } from '../version.js';

const usage = `Usage: peerkit demo [--keep]

Builds a small sample folder (embedded in peerkit), turns it into a
.torrent, reads the .torrent back and shows what a peer would see. No setup
and no network.

Options:
      --keep    keep the sample folder and .torrent instead of deleting them`;

/** A small embedded sample: nested folders, a space, non-ASCII, odd sizes. */
const SAMPLE: readonly (readonly [string, number])[] = [
  ['README.txt', 1_234],
  ['music/Über Sänger.flac', 700_001],
  ['music/cover art.jpg', 99_999],
  ['notes/2026/week 47.md', 4_321],
];

export const demoCommand: Command = {
  name: 'demo',
  summary: 'create and read back a sample torrent, offline',
  usage,
  async run(args) {
    const parsed = parseCommandLine(args, { keep: { type: 'boolean' } }, usage);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    const dir = await mkdtemp(join(tmpdir(), 'peerkit-demo-'));
    try {
      const root = join(dir, 'peerkit-sample');
      let seed = 1;
      for (const [path, size] of SAMPLE) {
        const full = join(root, path);
        await mkdir(join(full, '..'), { recursive: true });
        // Deterministic content, so the demo prints the same infohash every time.
        const data = Buffer.alloc(size);
        for (let i = 0; i < size; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        await writeFile(full, data);
      }
      const out = join(dir, 'peerkit-sample.torrent');
      const { torrent } = await createTorrent(root, { trackers: [['http://127.0.0.1:8000/announce']], pieceLength: 64 * 1024, createdBy: `peerkit/${VERSION}` });
      await writeFile(out, torrent);
      const m = parseTorrent(torrent);
      const lines = [
        `peerkit ${VERSION}`,
        '',
        `Made a sample folder of ${m.files.length} files (${formatBytes(m.length)}) and its torrent${values.keep === true ? ` ${out}` : ''}:`,
        '',
        `  infohash  ${m.infoHashHex}`,
        `  pieces    ${m.pieceCount} x ${formatBytes(m.pieceLength)} (SHA-1 of each, so every piece can be checked on arrival)`,
        '  files:',
        ...m.files.map((f, i) => `    ${formatBytes(f.length).padStart(10)}  ${[m.name, ...f.path].join('/')}   (pieces ${piecesOf(m.layout.filePieces(i))})`),
        `  magnet    ${formatMagnet({ infoHash: m.infoHash, name: m.name, trackers: m.announceList.flat() })}`,
        '',
        'Try it on your own files:',
        '  npx peerkit create <file or folder> -t <tracker url>',
        '  npx peerkit info <file.torrent | magnet link>',
        '  npx peerkit --help',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      if (values.keep === true) process.stdout.write(`\n(kept in ${dir})\n`);
      return 0;
    } finally {
      if (values.keep !== true) await rm(dir, { recursive: true, force: true });
    }
  },
};

function piecesOf(range: { first: number; last: number } | undefined): string {
  if (range === undefined) return 'none';
  return range.first === range.last ? `${range.first}` : `${range.first}-${range.last}`;
}
