import { clientName } from '../engine/index.js';
import { formatMagnet, parseMagnet } from '../metainfo/index.js';
import type { Entry, RateSample, TrackerStatus } from './entry.js';
import type { FilePriority } from './state.js';

/*
 * What the API shows of a torrent: plain JSON, computed from the Entry and
 * its running Torrent. These shapes are the API's contract (README, "The
 * HTTP API"); the UI reads nothing else.
 */

export type TorrentStateName = 'metadata' | 'checking' | 'downloading' | 'seeding' | 'finished' | 'paused' | 'error';

export interface TorrentSummary {
  readonly infoHash: string;
  readonly name: string;
  /** Bytes; 0 until a magnet link's metadata arrived. */
  readonly size: number;
  /** Verified fraction, 0 to 1. */
  readonly progress: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  /** Uploaded / size (downloaded, for a torrent we did not start with). */
  readonly ratio: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly state: TorrentStateName;
  readonly peers: number;
  readonly paused: boolean;
  readonly savePath: string;
  readonly addedAt: number;
  /** Seconds to completion at the current rate, when downloading. */
  readonly eta: number | undefined;
  readonly error: string | undefined;
}

export interface FileView {
  readonly index: number;
  readonly path: string;
  readonly size: number;
  /** Bytes of verified pieces in this file. */
  readonly done: number;
  readonly priority: FilePriority;
  readonly padding: boolean;
}

export interface TorrentDetails extends TorrentSummary {
  readonly magnet: string;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly private: boolean;
  readonly comment: string | undefined;
  readonly files: readonly FileView[];
  readonly trackers: readonly TrackerStatus[];
  /** One character per piece: '1' verified, '0' not. */
  readonly have: string;
  /** Per piece, how many connected peers have it. */
  readonly availability: readonly number[];
  readonly history: readonly RateSample[];
}

export interface PeerView {
  readonly address: string;
  readonly client: string;
  readonly outgoing: boolean;
  /** Fraction of the torrent the peer has. */
  readonly progress: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly flags: {
    readonly amChoking: boolean;
    readonly amInterested: boolean;
    readonly peerChoking: boolean;
    readonly peerInterested: boolean;
    readonly optimistic: boolean;
    readonly snubbed: boolean;
  };
}

function stateOf(e: Entry): TorrentStateName {
  if (e.error !== undefined) return 'error';
  if (e.saved.paused) return 'paused';
  if (e.metainfo === undefined) return 'metadata';
  const t = e.torrent;
  if (t === undefined || e.starting || t.state === 'checking') return 'checking';
  if (t.state === 'error') return 'error';
  if (t.state === 'seeding') return 'seeding';
  if (t.state === 'stopped') return 'paused';
  return t.selectedComplete ? 'finished' : 'downloading';
}

export function summary(e: Entry, now: number): TorrentSummary {
  const m = e.metainfo;
  const t = e.torrent;
  const size = m?.length ?? 0;
  const bytes = t?.progress.bytes ?? 0;
  const downloadRate = t?.downloadRate.rate(now) ?? 0;
  const state = stateOf(e);
  const left = size - bytes;
  return {
    infoHash: e.infoHash,
    name: m?.name ?? (e.saved.magnet !== undefined ? (parseMagnet(e.saved.magnet).name ?? e.infoHash) : e.infoHash),
    size,
    progress: size > 0 && t !== undefined ? bytes / size : 0,
    downloadRate,
    uploadRate: t?.uploadRate.rate(now) ?? 0,
    ratio: e.uploaded / Math.max(1, e.downloaded > 0 ? e.downloaded : size),
    uploaded: e.uploaded,
    downloaded: e.downloaded,
    state,
    peers: t?.peerCount ?? 0,
    paused: e.saved.paused,
    savePath: e.saved.savePath,
    addedAt: e.saved.addedAt,
    eta: state === 'downloading' && downloadRate > 0 ? Math.ceil(left / downloadRate) : undefined,
    error: e.error ?? t?.error?.message,
  };
}

export function details(e: Entry, now: number, dht: boolean): TorrentDetails {
  const m = e.metainfo;
  const t = e.torrent;
  const pieceCount = m?.pieceCount ?? 0;
  let have = '';
  for (let i = 0; i < pieceCount; i++) have += t?.hasPiece(i) === true ? '1' : '0';
  const files: FileView[] = (m?.files ?? []).map((f, index) => {
    let done = 0;
    const range = m!.layout.filePieces(index);
    if (range !== undefined && t !== undefined) {
      for (let p = range.first; p <= range.last; p++) {
        if (!t.hasPiece(p)) continue;
        const start = Math.max(f.offset, p * m!.pieceLength);
        const end = Math.min(f.offset + f.length, (p + 1) * m!.pieceLength);
        done += Math.max(0, end - start);
      }
    }
    return { index, path: [m!.name, ...f.path].filter((_, i) => m!.multiFile || i === 0).join('/'), size: f.length, done, priority: e.saved.priorities?.[index] ?? 'normal', padding: f.padding };
  });
  return {
    ...summary(e, now),
    magnet: e.saved.magnet ?? (m !== undefined ? formatMagnet({ infoHash: m.infoHash, name: m.name, trackers: m.announceList.flat() }) : ''),
    pieceLength: m?.pieceLength ?? 0,
    pieceCount,
    private: m?.private ?? false,
    comment: m?.comment,
    files,
    trackers: e.trackers(dht),
    have,
    availability: t?.availability() ?? new Array<number>(pieceCount).fill(0),
    history: e.history,
  };
}

export function peers(e: Entry, now: number): PeerView[] {
  const t = e.torrent;
  if (t === undefined) return [];
  const count = Math.max(1, t.pieceCount);
  return t.peerList().map((p) => ({
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
  }));
}
