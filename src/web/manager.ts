import { mkdir, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fetchMetadata, type Session, type Torrent } from '../engine/index.js';
import { createTorrent, formatMagnet, isMagnet, parseMagnet, parseTorrent, torrentFromInfo, DEFAULT_MAX_TORRENT, type Metainfo } from '../metainfo/index.js';
import { HttpError, type Endpoint, type HttpGet } from '../net/index.js';
import { hasBit, openFileStore, readResume } from '../storage/index.js';
import { writeAtomic, type DaemonPaths } from './config.js';
import { Entry } from './entry.js';
import { checkSavePath, deleteTorrentFiles, shareablePath } from './paths.js';
import { DaemonError } from './errors.js';
import { FILE_PRIORITIES, readState, writeState, type FilePriority, type SavedTorrent } from './state.js';

/*
 * The daemon's torrents: one engine Session, and for each torrent an Entry
 * that outlives the engine's Torrent object. Pausing stops the Torrent
 * (peers closed, trackers told `stopped`, resume data written); resuming
 * starts a new one from the same .torrent and resume file, which trusts the
 * pieces whose files are unchanged. Every change is written to
 * torrents.json at once, so a restart (or a crash) finds the same list.
 *
 * Operations on one entry run one after another (`Entry.serial`): a pause
 * that arrives while the torrent is still checking its data waits for the
 * check (whose result the resume data then keeps), instead of racing it;
 * removing the torrent, or stopping the daemon, abandons the check.
 */

export interface ManagerInit {
  readonly session: Session;
  readonly paths: DaemonPaths;
  readonly downloadDir: string;
  readonly httpGet: HttpGet;
  /** The embedded tracker's announce URL: put in the torrents `share` creates. */
  readonly trackerUrl?: string | undefined;
  /** Whether the session has a DHT node (magnet links need one, or trackers, or peers). */
  readonly dht: boolean;
  readonly createdBy: string;
  readonly log: (message: string) => void;
}

export interface AddOptions {
  readonly savePath?: string | undefined;
  readonly paused?: boolean | undefined;
}

export class TorrentManager {
  readonly session: Session;
  private readonly init: ManagerInit;
  private readonly entries = new Map<string, Entry>();
  /** Info hashes being added (between the check for a conflict and the entry's arrival in the list). */
  private readonly adding = new Set<string>();
  /** Removals in progress: adding the same torrent again waits for its files to be dealt with first. */
  private readonly removing = new Map<string, Promise<void>>();
  private saving: Promise<void> = Promise.resolve();
  private closed = false;
  /** Aborted by close: what would hold up a stop (hashing a share) gives up. */
  private readonly shutdown = new AbortController();

  constructor(init: ManagerInit) {
    this.init = init;
    this.session = init.session;
  }

  get size(): number {
    return this.entries.size;
  }

  all(): Entry[] {
    return [...this.entries.values()].sort((a, b) => a.saved.addedAt - b.saved.addedAt || a.infoHash.localeCompare(b.infoHash));
  }

  find(infoHash: string): Entry | undefined {
    return this.entries.get(infoHash.toLowerCase());
  }

  get(infoHash: string): Entry {
    const e = this.entries.get(infoHash.toLowerCase());
    if (e === undefined) throw new DaemonError('not-found', `no torrent ${infoHash} in this daemon`);
    return e;
  }

  /** Bring back the torrents of the last run; one that cannot start is shown with its error, not dropped. */
  async restore(): Promise<void> {
    // The engine writes resume data into this folder, and does not make it.
    await mkdir(this.init.paths.resumeDir, { recursive: true });
    const saved = await readState(this.init.paths.stateFile);
    for (const s of saved) {
      const e = new Entry(s);
      this.entries.set(s.infoHash, e);
      if (s.magnet === undefined) {
        try {
          e.metainfo = parseTorrent(await readFile(this.torrentFile(s.infoHash)));
        } catch (err) {
          e.error = `cannot read its .torrent: ${err instanceof Error ? err.message : String(err)}`;
          continue;
        }
        await this.loadHave(e, e.metainfo);
      }
      if (!s.paused) this.begin(e);
    }
  }

  /** A .torrent file's bytes. */
  async addTorrentFile(bytes: Uint8Array, options: AddOptions = {}): Promise<Entry> {
    const metainfo = parseTorrent(bytes);
    return this.admit(metainfo.infoHashHex, async () => {
      const e = this.create(metainfo.infoHashHex, options, undefined);
      e.metainfo = metainfo;
      await writeAtomic(this.torrentFile(metainfo.infoHashHex), bytes);
      return this.added(e);
    });
  }

  /** A magnet link: the metadata is fetched from peers (DHT, its trackers, x.pe), then the download starts. */
  async addMagnet(link: string, options: AddOptions = {}): Promise<Entry> {
    const magnet = parseMagnet(link);
    if (magnet.infoHashHex === undefined) throw new DaemonError('bad-request', 'the magnet link has no BitTorrent v1 info hash (xt=urn:btih:...)');
    if (!this.init.dht && magnet.trackers.length === 0 && magnet.peers.length === 0) throw new DaemonError('bad-request', 'the DHT is off, and the magnet link names no tracker (tr=) or peer (x.pe=) to get the metadata from');
    return this.admit(magnet.infoHashHex, () => this.added(this.create(magnet.infoHashHex!, options, link)));
  }

  /** A URL: a magnet link, or an http(s) URL of a .torrent file. */
  async addUrl(url: string, options: AddOptions = {}): Promise<Entry> {
    if (isMagnet(url)) return this.addMagnet(url, options);
    if (!/^https?:\/\//i.test(url)) throw new DaemonError('bad-request', 'the URL must be http://, https:// or magnet:');
    let body: Uint8Array;
    try {
      const r = await this.init.httpGet(url, { maxBytes: DEFAULT_MAX_TORRENT });
      if (r.status !== 200) throw new DaemonError('bad-request', `${url} answered HTTP ${r.status}`);
      body = r.body;
    } catch (err) {
      if (err instanceof HttpError) throw new DaemonError('bad-request', `could not fetch ${url}: ${err.message}`);
      throw err;
    }
    return this.addTorrentFile(body, options);
  }

  /** Make a torrent of a local file or folder (announcing to the embedded tracker) and seed it. */
  async share(path: string): Promise<{ entry: Entry; magnet: string }> {
    if (!isAbsolute(path)) throw new DaemonError('bad-request', `the path must be absolute: ${JSON.stringify(path)}`);
    const { paths } = this.init;
    const full = await shareablePath(resolve(path), [paths.configDir, paths.stateFile, paths.torrentsDir, paths.resumeDir, paths.dhtState]);
    const created = await createTorrent(full, {
      ...(this.init.trackerUrl !== undefined && { trackers: [[this.init.trackerUrl]] }),
      createdBy: this.init.createdBy,
      creationDate: Math.floor(Date.now() / 1000),
      signal: this.shutdown.signal,
    });
    const m = created.metainfo;
    const e = await this.admit(m.infoHashHex, async () => {
      const entry = this.create(m.infoHashHex, { savePath: dirname(full) }, undefined, basename(full));
      entry.metainfo = m;
      await writeAtomic(this.torrentFile(m.infoHashHex), created.torrent);
      return this.added(entry);
    });
    return { entry: e, magnet: formatMagnet({ infoHash: m.infoHash, name: m.name, trackers: m.announceList.flat() }) };
  }

  async pause(infoHash: string): Promise<Entry> {
    const e = this.get(infoHash);
    // Said at once, not queued: the queue applies the last word (begin looks at `paused` when its turn comes),
    // and a metadata fetch in progress holds the queue until it is aborted.
    e.update({ paused: true });
    e.fetching?.abort();
    await e.serial(() => this.stopEngine(e));
    await this.save();
    return e;
  }

  async resume(infoHash: string): Promise<Entry> {
    const e = this.get(infoHash);
    if (!e.saved.paused && e.error === undefined) return e;
    // Said at once, as pause says it: of a resume and a pause that arrive together, the later one wins.
    e.update({ paused: false });
    e.error = undefined;
    this.begin(e);
    await this.save();
    return e;
  }

  async remove(infoHash: string, deleteData: boolean): Promise<void> {
    const e = this.get(infoHash);
    this.entries.delete(e.infoHash);
    e.removed = true;
    e.fetching?.abort();
    e.checking?.abort();
    const removal = e.serial(async () => {
      await this.stopEngine(e);
      await unlink(this.torrentFile(e.infoHash)).catch(() => undefined);
      await unlink(this.resumeFile(e.infoHash)).catch(() => undefined);
      // The torrent's own files only, laid out as the store laid them out (paths.ts); whatever else is there stays.
      if (deleteData && e.metainfo !== undefined) await deleteTorrentFiles(this.layoutOf(e, e.metainfo), e.saved.savePath);
    });
    const done = removal.catch(() => undefined);
    this.removing.set(e.infoHash, done);
    void done.then(() => this.removing.get(e.infoHash) === done && this.removing.delete(e.infoHash));
    try {
      await removal;
    } finally {
      // Gone from the list even if deleting a file failed (the error says which).
      await this.save();
    }
  }

  /** Change file priorities: `changes` maps file index to skip, normal or high. */
  async setPriorities(infoHash: string, changes: readonly { readonly index: number; readonly priority: FilePriority }[]): Promise<Entry> {
    const e = this.get(infoHash);
    const m = e.metainfo;
    if (m === undefined) throw new DaemonError('conflict', 'the metadata has not arrived yet: there are no files to choose from');
    const priorities = [...(e.saved.priorities ?? m.files.map(() => 'normal' as const))];
    for (const c of changes) {
      if (!Number.isInteger(c.index) || c.index < 0 || c.index >= m.files.length) throw new DaemonError('bad-request', `no file ${c.index} (the torrent has ${m.files.length})`);
      if (!FILE_PRIORITIES.includes(c.priority)) throw new DaemonError('bad-request', `priority must be one of ${FILE_PRIORITIES.join(', ')}`);
      priorities[c.index] = c.priority;
    }
    e.update({ priorities });
    e.applySelection();
    await this.save();
    return e;
  }

  /** One rate sample per torrent; called every second. */
  sample(now: number): void {
    for (const e of this.entries.values()) e.sample(now, this.session.clock.now());
  }

  /** Stop every torrent (trackers hear `stopped`, resume data is written) and save the list. */
  async close(): Promise<void> {
    this.closed = true;
    // Nothing in progress holds up the stop: a metadata fetch would wait for peers for ever, a check or a share's hashing for minutes.
    this.shutdown.abort(new DaemonError('conflict', 'the daemon is stopping'));
    for (const e of this.entries.values()) {
      e.fetching?.abort();
      e.checking?.abort();
    }
    await Promise.all([...this.entries.values()].map((e) => e.serial(() => this.stopEngine(e))));
    await this.save();
  }

  // --- internals ---------------------------------------------------------

  /**
   * Run `add` for a torrent not in the list: after a removal of the same torrent still in progress (its
   * stop, then the unlinking of its .torrent and resume files, would otherwise hit the new entry's), and
   * never twice at once.
   */
  private async admit(infoHash: string, add: () => Promise<Entry>): Promise<Entry> {
    await this.removing.get(infoHash);
    if (this.entries.has(infoHash) || this.adding.has(infoHash)) throw new DaemonError('conflict', `torrent ${infoHash} is already in the daemon`);
    this.adding.add(infoHash);
    try {
      return await add();
    } finally {
      this.adding.delete(infoHash);
    }
  }

  private create(infoHash: string, options: AddOptions, magnet: string | undefined, name?: string): Entry {
    if (this.entries.has(infoHash)) throw new DaemonError('conflict', `torrent ${infoHash} is already in the daemon`);
    const saved: SavedTorrent = {
      infoHash,
      savePath: checkSavePath(options.savePath ?? this.init.downloadDir, this.init.paths),
      ...(name !== undefined && { name }),
      paused: options.paused === true,
      addedAt: Date.now(),
      ...(magnet !== undefined && { magnet }),
      uploaded: 0,
      downloaded: 0,
    };
    return new Entry(saved);
  }

  private async added(e: Entry): Promise<Entry> {
    if (this.entries.has(e.infoHash)) throw new DaemonError('conflict', `torrent ${e.infoHash} is already in the daemon`);
    this.entries.set(e.infoHash, e);
    await this.save();
    if (!e.saved.paused) this.begin(e);
    return e;
  }

  /** Start the engine for `e` in the background (fetching the metadata first for a magnet link); errors land on the entry. */
  private begin(e: Entry): void {
    void e.serial(async () => {
      if (e.saved.paused || e.removed || this.closed || e.torrent !== undefined) return;
      try {
        if (e.metainfo === undefined) await this.fetch(e);
        if (e.saved.paused || e.removed || this.closed || e.metainfo === undefined) return;
        await this.startEngine(e, e.metainfo);
      } catch (err) {
        if (e.removed || e.saved.paused || this.closed) return;
        e.error = err instanceof Error ? err.message : String(err);
        this.init.log(`${e.infoHash}: ${e.error}`);
      }
    });
  }

  private async fetch(e: Entry): Promise<void> {
    const magnet = parseMagnet(e.saved.magnet!);
    const abort = new AbortController();
    e.fetching = abort;
    try {
      const peers: Endpoint[] = magnet.peers.flatMap((p) => {
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(p);
        return m === null ? [] : [{ host: m[1]!, port: Number(m[2]) }];
      });
      const fetched = await fetchMetadata(this.session, magnet.infoHash!, { peers, trackers: magnet.trackers, dht: this.init.dht, signal: abort.signal });
      const bytes = torrentFromInfo(fetched.info, magnet.trackers);
      const metainfo = parseTorrent(bytes);
      await writeAtomic(this.torrentFile(e.infoHash), bytes);
      e.metainfo = metainfo;
      e.fetchedPeers = metainfo.private ? peers : fetched.peers;
      const { magnet: _dropped, ...rest } = e.saved;
      e.replace(rest);
      await this.save();
    } finally {
      e.fetching = undefined;
    }
  }

  private async startEngine(e: Entry, m: Metainfo): Promise<void> {
    await mkdir(e.saved.savePath, { recursive: true });
    const store = await openFileStore(this.layoutOf(e, m), e.saved.savePath);
    const check = new AbortController();
    e.checking = check;
    try {
      const torrent: Torrent = await this.session.add(m, { store, fileStore: store, resumeFile: this.resumeFile(e.infoHash), peers: e.fetchedPeers ?? [], signal: check.signal });
      e.attach(torrent);
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    } finally {
      e.checking = undefined;
    }
  }

  private async stopEngine(e: Entry): Promise<void> {
    e.fetching?.abort();
    const t = e.torrent;
    if (t === undefined) return;
    e.detach();
    await t.stop();
  }

  /** What the resume file says was verified: shown while the torrent is paused or being checked (the check decides). */
  private async loadHave(e: Entry, m: Metainfo): Promise<void> {
    const resume = await readResume(this.resumeFile(e.infoHash), m.infoHash).catch(() => undefined);
    if (resume === undefined) return;
    const have = resume.have;
    e.lastHave = (i) => hasBit(have, i);
  }

  /** The torrent as it lies on disk: a shared file or folder keeps its own name. */
  private layoutOf(e: Entry, m: Metainfo): Metainfo {
    return e.saved.name !== undefined ? { ...m, name: e.saved.name } : m;
  }

  private torrentFile(infoHash: string): string {
    return join(this.init.paths.torrentsDir, `${infoHash}.torrent`);
  }

  private resumeFile(infoHash: string): string {
    return join(this.init.paths.resumeDir, `${infoHash}.resume`);
  }

  /** Write torrents.json; writes are queued so an older list never lands after a newer one. */
  save(): Promise<void> {
    const list = this.all().map((e) => e.snapshotSaved());
    this.saving = this.saving.then(() => writeState(this.init.paths.stateFile, list)).catch((err: unknown) => this.init.log(`could not save ${this.init.paths.stateFile}: ${err instanceof Error ? err.message : String(err)}`));
    return this.saving;
  }
}

