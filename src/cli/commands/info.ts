import { formatMagnet, isMagnet, parseMagnet, parseTorrent, type Magnet, type Metainfo } from '../../metainfo/index.js';
import { readTorrentBytes } from '../torrent-file.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, plural, printable, table } from '../format.js';
import type { Command } from '../main.js';

const usage = `Usage: peerkit info <file.torrent | magnet link> [--json]

Show what a .torrent or a magnet link describes: name, size, pieces, files,
trackers and infohash.

Options:
      --json    print as JSON (for scripts)`;


export const infoCommand: Command = {
  name: 'info',
  summary: 'show the contents of a .torrent or magnet link',
  usage,
  async run(args) {
    const parsed = parseCommandLine(args, { json: { type: 'boolean' } }, usage);
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the .torrent file or magnet link' : 'give exactly one .torrent or magnet link');
    const target = positionals[0]!;
    if (isMagnet(target)) {
      const m = parseMagnet(target);
      process.stdout.write(`${values.json === true ? JSON.stringify(magnetJson(m), null, 2) : magnetText(m)}\n`);
      return 0;
    }
    const meta = parseTorrent(await readTorrentBytes(target));
    process.stdout.write(`${values.json === true ? JSON.stringify(torrentJson(meta), null, 2) : torrentText(meta)}\n`);
    for (const w of meta.warnings) process.stderr.write(`peerkit: warning: ${w}\n`);
    return 0;
  },
};

function torrentJson(m: Metainfo) {
  return {
    name: m.name,
    infoHash: m.infoHashHex,
    length: m.length,
    pieceLength: m.pieceLength,
    pieces: m.pieceCount,
    private: m.private,
    files: m.files.filter((f) => !f.padding).map((f) => ({ path: (m.multiFile ? [m.name, ...f.path] : f.path).join('/'), length: f.length, offset: f.offset })),
    trackers: m.announceList,
    webSeeds: m.urlList,
    comment: m.comment ?? null,
    createdBy: m.createdBy ?? null,
    creationDate: m.creationDate ?? null,
    source: m.source ?? null,
    magnet: magnetOf(m),
  };
}

function magnetOf(m: Metainfo): string {
  return formatMagnet({ infoHash: m.infoHash, name: m.name, trackers: m.announceList.flat(), webSeeds: m.urlList });
}

function torrentText(m: Metainfo): string {
  const files = m.files.filter((f) => !f.padding);
  const rows: [string, string][] = [
    ['name', printable(m.name)],
    ['infohash', m.infoHashHex],
    ['size', `${formatBytes(m.length)} (${m.length} bytes)`],
    ['pieces', `${m.pieceCount} x ${formatBytes(m.pieceLength)}`],
    ['private', m.private ? 'yes' : 'no'],
  ];
  m.announceList.forEach((tier, i) => rows.push([i === 0 ? 'trackers' : '', printable(tier.join(', '))]));
  if (m.announceList.length === 0) rows.push(['trackers', '(none)']);
  m.urlList.forEach((u, i) => rows.push([i === 0 ? 'web seeds' : '', printable(u)]));
  if (m.createdBy !== undefined) rows.push(['created by', printable(m.createdBy)]);
  if (m.creationDate !== undefined) rows.push(['created', new Date(m.creationDate * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')]);
  if (m.comment !== undefined) rows.push(['comment', printable(m.comment)]);
  if (m.source !== undefined) rows.push(['source', printable(m.source)]);
  rows.push(['magnet', magnetOf(m)]);
  const sizes = files.map((f) => formatBytes(f.length));
  const w = sizes.reduce((n, s) => Math.max(n, s.length), 0);
  const list = files.map((f, i) => `  ${sizes[i]!.padStart(w)}  ${printable((m.multiFile ? [m.name, ...f.path] : f.path).join('/'))}`);
  return `${table(rows)}\n${plural(files.length, 'file')}:\n${list.join('\n')}`;
}

function magnetJson(m: Magnet) {
  return {
    infoHash: m.infoHashHex ?? null,
    infoHashV2: m.infoHashV2Hex ?? null,
    name: m.name ?? null,
    trackers: m.trackers,
    webSeeds: m.webSeeds,
    peers: m.peers,
    selectOnly: m.selectOnly,
  };
}

function magnetText(m: Magnet): string {
  const rows: [string, string][] = [
    ['name', m.name !== undefined ? printable(m.name) : '(not given: known once the metadata arrives from peers)'],
    ['infohash', m.infoHashHex ?? '(none)'],
  ];
  if (m.infoHashV2Hex !== undefined) rows.push(['infohash v2', m.infoHashV2Hex]);
  m.trackers.forEach((t, i) => rows.push([i === 0 ? 'trackers' : '', printable(t)]));
  if (m.trackers.length === 0) rows.push(['trackers', '(none)']);
  m.webSeeds.forEach((u, i) => rows.push([i === 0 ? 'web seeds' : '', printable(u)]));
  m.peers.forEach((p, i) => rows.push([i === 0 ? 'peers' : '', printable(p)]));
  if (m.selectOnly.length > 0) rows.push(['select only', m.selectOnly.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(',')]);
  rows.push(['size', 'unknown until the metadata is fetched']);
  return table(rows);
}
