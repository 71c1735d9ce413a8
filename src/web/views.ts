import { commonPrefixLength, compareDistance, idHex, type DhtNode } from '../dht/index.js';
import { clientName } from '../engine/index.js';
import { formatMagnet, parseMagnet } from '../metainfo/index.js';
import type { TrackerServer } from '../tracker/index.js';
import type { DhtView, FileView, PeerView, TorrentDetails, TorrentStateName, TorrentSummary, TrackerView } from './api-types.js';
import type { Entry } from './entry.js';

/*
 * What the API shows: plain JSON (the shapes of api-types.ts) computed from
 * an Entry and its running Torrent, the DHT node and the tracker. `now` is
 * the engine clock's, which the rate meters count in.
 */

function stateOf(e: Entry): TorrentStateName {
  if (e.error !== undefined) return 'error';
  if (e.saved.paused) return 'paused';
  if (e.metainfo === undefined) return 'metadata';
  const t = e.torrent;
  if (t === undefined || e.checking !== undefined || t.state === 'checking') return 'checking';
  if (t.state === 'error') return 'error';
  if (t.state === 'seeding') return 'seeding';
  if (t.state === 'stopped') return 'paused';
  return t.selectedComplete ? 'finished' : 'downloading';
}

/** Verified bytes: whole pieces, the last one shorter. */
function doneBytes(e: Entry): number {
  const m = e.metainfo;
  if (m === undefined) return 0;
  const t = e.torrent;
  if (t !== undefined && t.state !== 'checking') return t.progress.bytes;
  let bytes = 0;
  for (let i = 0; i < m.pieceCount; i++) if (e.hasPiece(i)) bytes += m.layout.pieceSize(i);
  return bytes;
}

export function summary(e: Entry, now: number): TorrentSummary {
  const m = e.metainfo;
  const t = e.torrent;
  const size = m?.length ?? 0;
  const done = doneBytes(e);
  const downloadRate = t?.downloadRate.rate(now) ?? 0;
  const state = stateOf(e);
  const downloaded = e.downloaded;
  return {
    infoHash: e.infoHash,
    name: m?.name ?? (e.saved.magnet !== undefined ? (parseMagnet(e.saved.magnet).name ?? e.infoHash) : e.infoHash),
    size,
    done,
    progress: size > 0 ? done / size : 0,
    downloadRate,
    uploadRate: t?.uploadRate.rate(now) ?? 0,
    // A torrent we seeded from the start downloaded nothing: its ratio is against its size, as Transmission does.
    ratio: e.uploaded / Math.max(1, downloaded > 0 ? downloaded : size),
    uploaded: e.uploaded,
    downloaded,
    state,
    peers: t?.peerCount ?? 0,
    paused: e.saved.paused,
    savePath: e.saved.savePath,
    addedAt: e.saved.addedAt,
    // What is left of the files not skipped: a skipped file is never downloaded, so it takes no time.
    eta: state === 'downloading' && downloadRate > 0 ? Math.ceil(e.bytesLeft() / downloadRate) : null,
    error: e.error ?? t?.error?.message ?? null,
  };
}

export function details(e: Entry, now: number, dht: boolean): TorrentDetails {
  const m = e.metainfo;
  const t = e.torrent;
  const pieceCount = m?.pieceCount ?? 0;
  const have: string[] = [];
  for (let i = 0; i < pieceCount; i++) have.push(e.hasPiece(i) ? '1' : '0');
  const files: FileView[] = (m?.files ?? []).map((f, index) => {
    let done = 0;
    const range = m!.layout.filePieces(index);
    if (range !== undefined) {
      for (let p = range.first; p <= range.last; p++) {
        if (have[p] !== '1') continue;
        const start = Math.max(f.offset, p * m!.pieceLength);
        const end = Math.min(f.offset + f.length, (p + 1) * m!.pieceLength);
        done += Math.max(0, end - start);
      }
    }
    const path = m!.multiFile ? [m!.name, ...f.path].join('/') : m!.name;
    return { index, path, size: f.length, done, priority: e.saved.priorities?.[index] ?? 'normal', padding: f.padding };
  });
  return {
    ...summary(e, now),
    magnet: e.saved.magnet ?? (m !== undefined ? formatMagnet({ infoHash: m.infoHash, name: m.name, trackers: m.announceList.flat() }) : ''),
    pieceLength: m?.pieceLength ?? 0,
    pieceCount,
    private: m?.private ?? false,
    comment: m?.comment ?? null,
    files,
    trackers: e.trackers(dht),
    have: have.join(''),
    availability: t !== undefined && t.state !== 'checking' ? t.availability() : new Array<number>(pieceCount).fill(0),
    history: e.history,
  };
}

export function peers(e: Entry, now: number): PeerView[] {
  const t = e.torrent;
  if (t === undefined) return [];
  const count = Math.max(1, t.pieceCount);
  return t
    .peerList()
    .map((p) => ({
      address: p.address,
      client: p.clientVersion ?? clientName(p.peerId),
      outgoing: p.outgoing,
      progress: p.pieces.count / count,
      downloadRate: p.download.rate(now),
      uploadRate: p.upload.rate(now),
      flags: {
        amChoking: p.amChoking,
        amInterested: p.amInterested,
        peerChoking: p.peerChoking,
        peerInterested: p.peerInterested,
        optimistic: t.isOptimistic(p),
        snubbed: p.snubbed,
      },
    }))
    .sort((a, b) => b.downloadRate + b.uploadRate - (a.downloadRate + a.uploadRate) || a.address.localeCompare(b.address));
}

/** Most routing-table entries shown: a full table has ~160 buckets of 8. */
const MAX_NODES = 200;
const MAX_STORED = 200;

export function dhtView(dht: DhtNode | undefined): DhtView {
  if (dht === undefined) return { enabled: false };
  const now = dht.clock.now();
  const s = dht.stats();
  const self = dht.id;
  const nodes = [...dht.contacts()].sort((a, b) => compareDistance(self, a.id, b.id)).slice(0, MAX_NODES);
  return {
    enabled: true,
    id: idHex(self),
    port: dht.local.port,
    externalAddress: dht.externalAddress ?? null,
    stats: { nodes: s.nodes, buckets: s.buckets, torrents: s.torrents, peers: s.peers, items: s.items, queriesSent: s.queriesSent, queriesReceived: s.queriesReceived, timeouts: s.timeouts },
    // The distance as the length of the common prefix with our id: 160 - log2(XOR), the bucket it falls in.
    nodes: nodes.map((c) => ({ id: idHex(c.id), address: `${c.host}:${c.port}`, distance: 160 - commonPrefixLength(self, c.id) })),
    torrents: dht.peers.list(now).slice(0, MAX_STORED),
    items: dht.items.list(now).slice(0, MAX_STORED),
  };
}

export function trackerView(server: TrackerServer | undefined): TrackerView {
  if (server === undefined) return { enabled: false };
  return { enabled: true, httpUrl: server.httpUrl ?? null, udpUrl: server.udpUrl ?? null, stats: server.tracker.stats() };
}
