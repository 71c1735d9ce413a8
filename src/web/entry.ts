import type { Torrent, TorrentEvent } from '../engine/index.js';
import type { Metainfo } from '../metainfo/index.js';
import type { Endpoint } from '../net/index.js';
import type { FilePriority, RateSample, TrackerStatus } from './api-types.js';
import type { SavedTorrent } from './state.js';

/*
 * One torrent of the daemon, across pauses and restarts: what is saved of
 * it, the engine's Torrent while it runs, what its trackers last said, and
 * its recent rates (for the chart).
 *
 * File priorities are applied with the one lever the engine has, the set of
 * wanted pieces: while a file marked `high` still misses pieces, only the
 * high files' pieces are wanted; once they are all verified the normal files
 * are added. So `high` means "before the others", strictly, and `skip`
 * means never requested.
 */

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
  /** Set while the engine checks the existing data before starting: aborting it abandons the check. */
  checking: AbortController | undefined;
  removed = false;
  /** The verified pieces while no Torrent runs (paused, or before the check), from the last run or the resume file. */
  lastHave: ((index: number) => boolean) | undefined;
  readonly history: RateSample[] = [];
  /** Per announce URL: the last answer. */
  private readonly trackerAnswers = new Map<string, { peers: number; warning: string; at: number }>();
  /** The last announce that failed on every tracker (the engine's tiers try them all before giving up). */
  private lastTrackerError: { message: string; at: number } | undefined;
  private dhtPeers: { peers: number; at: number } | undefined;
  /** Whether only the high-priority files are wanted now. */
  private highPhase = false;
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

  /** Whether piece `index` is verified, running or not. */
  hasPiece(index: number): boolean {
    const t = this.torrent;
    if (t !== undefined && t.state !== 'checking') return t.hasPiece(index);
    return this.lastHave?.(index) ?? false;
  }

  attach(torrent: Torrent): void {
    this.torrent = torrent;
    this.unsubscribe = torrent.on((e) => this.onEvent(e));
    this.applySelection();
  }

  /** The torrent is being stopped: keep what it had, and fold its totals into the saved ones. */
  detach(): void {
    const t = this.torrent;
    if (t === undefined) return;
    this.unsubscribe?.();
    const have = new Uint8Array(t.pieceCount);
    for (let i = 0; i < t.pieceCount; i++) have[i] = t.hasPiece(i) ? 1 : 0;
    this.lastHave = (i) => have[i] === 1;
    this.saved = { ...this.saved, uploaded: this.saved.uploaded + t.uploaded, downloaded: this.saved.downloaded + t.downloaded };
    this.torrent = undefined;
    this.trackerAnswers.clear();
    this.lastTrackerError = undefined;
    this.dhtPeers = undefined;
  }

  /** Tell the engine which pieces are wanted now (see the note at the top on priorities). */
  applySelection(): void {
    const t = this.torrent;
    const m = this.metainfo;
    if (t === undefined || m === undefined || this.saved.priorities === undefined) return;
    const high = this.piecesOf(m, (p) => p === 'high');
    let highMissing = false;
    for (let i = 0; i < m.pieceCount && !highMissing; i++) highMissing = high[i] === 1 && !t.hasPiece(i);
    this.highPhase = highMissing;
    const wanted = highMissing ? high : this.piecesOf(m, (p) => p !== 'skip');
    t.selectPieces((i) => wanted[i] === 1);
  }

  /** Bytes still to download: the pieces of the files not skipped that are not verified yet. */
  bytesLeft(): number {
    const m = this.metainfo;
    if (m === undefined) return 0;
    const wanted = this.piecesOf(m, (p) => p !== 'skip');
    let left = 0;
    for (let i = 0; i < m.pieceCount; i++) if (wanted[i] === 1 && !this.hasPiece(i)) left += m.layout.pieceSize(i);
    return left;
  }

  /** The pieces that hold some of a file whose priority passes `level` (padding files hold nothing). */
  private piecesOf(m: Metainfo, level: (p: FilePriority) => boolean): Uint8Array {
    const priorities = this.saved.priorities;
    const wanted = new Uint8Array(m.pieceCount);
    m.files.forEach((f, i) => {
      if (f.padding || !level(priorities?.[i] ?? 'normal')) return;
      const range = m.layout.filePieces(i);
      if (range !== undefined) wanted.fill(1, range.first, range.last + 1);
    });
    return wanted;
  }

  sample(wallNow: number, clockNow: number): void {
    const t = this.torrent;
    const s = { t: wallNow, down: t?.downloadRate.rate(clockNow) ?? 0, up: t?.uploadRate.rate(clockNow) ?? 0 };
    if (this.history.length >= HISTORY) this.history.shift();
    this.history.push(s);
  }

  trackers(dht: boolean): TrackerStatus[] {
    const out: TrackerStatus[] = [];
    const running = this.torrent !== undefined;
    const err = this.lastTrackerError;
    const tiers = this.metainfo?.announceList ?? [];
    tiers.forEach((tier, i) => {
      for (const url of tier) {
        const a = this.trackerAnswers.get(url);
        if (a !== undefined && (err === undefined || a.at >= err.at)) out.push({ url, tier: i, status: 'working', peers: a.peers, message: a.warning, at: a.at });
        else if (err !== undefined) out.push({ url, tier: i, status: 'error', peers: 0, message: err.message, at: err.at });
        else out.push({ url, tier: i, status: running ? 'not contacted' : 'stopped', peers: 0, message: '', at: null });
      }
    });
    if (dht && this.metainfo?.private !== true) {
      const d = this.dhtPeers;
      out.push({ url: 'DHT', tier: -1, status: d !== undefined ? 'working' : running ? 'looking up' : 'stopped', peers: d?.peers ?? 0, message: '', at: d?.at ?? null });
    }
    return out;
  }

  private onEvent(e: TorrentEvent): void {
    const at = Date.now();
    if (e.type === 'tracker') this.trackerAnswers.set(e.url, { peers: e.peers, warning: e.warning ?? '', at });
    else if (e.type === 'tracker-error') this.lastTrackerError = { message: e.message, at };
    else if (e.type === 'dht') this.dhtPeers = { peers: e.peers, at };
    else if (e.type === 'error') this.error = e.error.message;
    // The high files are done: widen to the normal ones (after the engine has finished handling this piece).
    else if (e.type === 'piece-verified' && this.highPhase && this.torrent?.selectedComplete === true) queueMicrotask(() => this.applySelection());
  }
}
