import type { Torrent, TorrentEvent } from '../engine/index.js';
import type { Endpoint } from '../net/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { SavedTorrent } from './state.js';

/*
 * One torrent of the daemon, across pauses and restarts: what is saved of
 * it, the engine's Torrent while it runs, what its trackers last said, and
 * its recent rates (for the chart).
 */

export interface RateSample {
  /** ms since the epoch. */
  readonly t: number;
  /** bytes/s */
  readonly down: number;
  readonly up: number;
}

export interface TrackerStatus {
  readonly url: string;
  readonly tier: number;
  /** 'working', 'error', 'not contacted' */
  readonly status: string;
  readonly peers: number;
  readonly message: string;
  /** ms since the epoch of the last answer or failure. */
  readonly at: number | undefined;
}

const HISTORY = 300;

export class Entry {
  readonly infoHash: string;
  saved: SavedTorrent;
  metainfo: Metainfo | undefined;
  torrent: Torrent | undefined;
  error: string | undefined;
  fetching: AbortController | undefined;
  /** Peers that gave us the metadata: dialled first. */
  fetchedPeers: Endpoint[] | undefined;
  starting = false;
  removed = false;
  readonly history: RateSample[] = [];
  /** Per announce URL: the last answer. */
  readonly trackerAnswers = new Map<string, { peers: number; warning: string; at: number }>();
  lastTrackerError: { message: string; at: number } | undefined;
  dhtPeers: { peers: number; at: number } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;

  constructor(saved: SavedTorrent) {
    this.infoHash = saved.infoHash;
    this.saved = saved;
  }

  /** Run `fn` after every operation queued before it (errors do not stop the queue). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  update(changes: Partial<Pick<SavedTorrent, 'paused' | 'priorities'>>): void {
    this.saved = { ...this.saved, ...changes };
  }

  replace(saved: SavedTorrent): void {
    this.saved = saved;
  }

  /** What goes to torrents.json: totals include this run's. */
  snapshotSaved(): SavedTorrent {
    const t = this.torrent;
    if (t === undefined) return this.saved;
    return { ...this.saved, uploaded: this.saved.uploaded + t.uploaded, downloaded: this.saved.downloaded + t.downloaded };
  }

  get uploaded(): number {
    return this.saved.uploaded + (this.torrent?.uploaded ?? 0);
  }

  get downloaded(): number {
    return this.saved.downloaded + (this.torrent?.downloaded ?? 0);
  }

  attach(torrent: Torrent): void {
    this.torrent = torrent;
    this.unsubscribe = torrent.on((e) => this.onEvent(e));
    this.applySelection();
  }

  /** The torrent is being stopped: fold its totals into the saved ones. */
  detach(): void {
    const t = this.torrent;
    if (t === undefined) return;
    this.unsubscribe?.();
    this.saved = { ...this.saved, uploaded: this.saved.uploaded + t.uploaded, downloaded: this.saved.downloaded + t.downloaded };
    this.torrent = undefined;
  }

  /** Tell the engine which pieces are wanted: those of at least one file not skipped. */
  applySelection(): void {
    const t = this.torrent;
    const m = this.metainfo;
    const priorities = this.saved.priorities;
    if (t === undefined || m === undefined || priorities === undefined) return;
    const wanted = new Uint8Array(m.pieceCount);
    m.files.forEach((_, i) => {
      if (priorities[i] === 'skip') return;
      const range = m.layout.filePieces(i);
      if (range !== undefined) wanted.fill(1, range.first, range.last + 1);
    });
    t.selectPieces((i) => wanted[i] === 1);
  }

  sample(wallNow: number, clockNow: number): void {
    const t = this.torrent;
    const s = { t: wallNow, down: t?.downloadRate.rate(clockNow) ?? 0, up: t?.uploadRate.rate(clockNow) ?? 0 };
    if (this.history.length >= HISTORY) this.history.shift();
    this.history.push(s);
  }

  trackers(dht: boolean): TrackerStatus[] {
    const out: TrackerStatus[] = [];
    const tiers = this.metainfo?.announceList ?? [];
    tiers.forEach((tier, i) => {
      for (const url of tier) {
        const a = this.trackerAnswers.get(url);
        const err = this.lastTrackerError;
        if (a !== undefined && (err === undefined || a.at >= err.at)) out.push({ url, tier: i, status: 'working', peers: a.peers, message: a.warning, at: a.at });
        else if (err !== undefined) out.push({ url, tier: i, status: 'error', peers: 0, message: err.message, at: err.at });
        else out.push({ url, tier: i, status: this.torrent === undefined ? 'stopped' : 'not contacted', peers: 0, message: '', at: undefined });
      }
    });
    if (dht && this.metainfo?.private !== true) {
      const d = this.dhtPeers;
      out.push({ url: '[DHT]', tier: -1, status: d !== undefined ? 'working' : this.torrent === undefined ? 'stopped' : 'looking up', peers: d?.peers ?? 0, message: '', at: d?.at });
    }
    return out;
  }

  private onEvent(e: TorrentEvent): void {
    const at = Date.now();
    if (e.type === 'tracker') this.trackerAnswers.set(e.url, { peers: e.peers, warning: e.warning ?? '', at });
    else if (e.type === 'tracker-error') this.lastTrackerError = { message: e.message, at };
    else if (e.type === 'dht') this.dhtPeers = { peers: e.peers, at };
    else if (e.type === 'error') this.error = e.error.message;
  }
}
