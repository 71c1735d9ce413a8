import { constants } from 'node:fs';
import { lstat, mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FileLayout } from '../metainfo/index.js';
import { fsError } from './errors.js';
import { HandleCache } from './handles.js';
import { isInside, planPaths, SafeFolders } from './paths.js';
import { checkRead, checkWrite } from './range.js';
import { StorageError, type PieceStore } from './types.js';

/*
 * The disk store: a torrent's pieces mapped onto its files with positional
 * reads and writes (a piece that spans a file boundary is cut with
 * `layout.pieceSlices`).
 *
 *   single file   <dir>/<name>
 *   multi-file    <dir>/<name>/<path...>
 *
 * Files appear as data arrives: a file is created on the first write that
 * touches it and, with `preallocate: 'sparse'`, set to its full length with
 * ftruncate, which costs no disk blocks and keeps later writes from
 * fragmenting the file's size. A file that already exists and is longer is
 * left alone: the store never throws away bytes it did not write. Empty files
 * are created at open, so a finished download has all its files. BEP 47
 * padding files are never created: they read as zeros and writes to them are
 * skipped (a verified piece holds zeros there).
 *
 * A piece is written slice by slice; if a slice fails (disk full), the slices
 * before it have landed and the call rejects. That is harmless: the engine
 * marks a piece as had only when writePiece resolves, and a restart only
 * trusts pieces the resume data lists (resume.ts).
 *
 * Where files go and how they stay inside `dir` is in paths.ts.
 */

export interface StorageTorrent {
  readonly name: string;
  readonly multiFile: boolean;
  readonly files: readonly { readonly path: readonly string[]; readonly length: number; readonly padding: boolean }[];
  readonly layout: FileLayout;
}

export interface FileStoreOptions {
  /** Files kept open at once (least recently used closed first). @default 64 */
  readonly maxOpenFiles?: number;
  /** `'sparse'`: a file is set to its full length when first written; `'none'`: it grows as written. @default 'sparse' */
  readonly preallocate?: 'sparse' | 'none';
  /** Rewrite names Windows cannot hold (paths.ts). @default process.platform === 'win32' */
  readonly windowsSafe?: boolean;
}

/** What the resume data records of a file, to notice it changed (resume.ts). */
export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
}

export interface FileStore extends PieceStore {
  /** The absolute path of each file, in torrent order (padding files too, though they are never created). */
  readonly paths: readonly string[];
  /**
   * Size and modification time of each file; `undefined` when missing or not
   * a regular file. A padding file, never on disk, reports its length and
   * mtime 0, so that resume data sees it as always present and unchanged.
   */
  stat(): Promise<(FileStat | undefined)[]>;
  /** Make what was written durable (fdatasync), e.g. before saving resume data. */
  flush(): Promise<void>;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const STAT_BATCH = 256;

export async function openFileStore(torrent: StorageTorrent, dir: string, options: FileStoreOptions = {}): Promise<FileStore> {
  const maxOpen = options.maxOpenFiles ?? 64;
  if (!Number.isInteger(maxOpen) || maxOpen < 1) throw new RangeError(`maxOpenFiles must be a positive integer, not ${maxOpen}`);
  if (torrent.files.length !== torrent.layout.lengths.length || torrent.files.some((f, i) => f.length !== torrent.layout.lengths[i])) {
    throw new RangeError('the layout does not match the file list');
  }
  const base = resolve(dir);
  const relative = planPaths(torrent, options.windowsSafe === undefined ? {} : { windowsSafe: options.windowsSafe });
  const paths = relative.map((c) => join(base, ...c));
  for (const p of paths) {
    if (!isInside(base, p) || p === base) throw new StorageError('unsafe-path', `${p} is outside ${base}`, p);
  }
  let realRoot: string;
  try {
    await mkdir(base, { recursive: true });
    realRoot = await realpath(base);
  } catch (e) {
    throw fsError(e, 'create folder', base);
  }
  const store = new DiskStore(torrent, paths, relative, new SafeFolders(base, realRoot), maxOpen, options.preallocate ?? 'sparse');
  await store.createEmptyFiles();
  return store;
}

class DiskStore implements FileStore {
  private readonly handles: HandleCache;
  private readonly layout: FileLayout;
  /** Files already checked for size (sparse preallocation happens once per store). */
  private readonly sized = new Set<number>();
  /** Files written since the last flush. */
  private readonly dirty = new Set<number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly torrent: StorageTorrent,
    readonly paths: readonly string[],
    private readonly relative: readonly (readonly string[])[],
    private readonly folders: SafeFolders,
    maxOpen: number,
    private readonly preallocate: 'sparse' | 'none',
  ) {
    this.layout = torrent.layout;
    this.handles = new HandleCache(maxOpen, (file, writable) => this.openFile(file, writable));
  }

  read(index: number, begin: number, length: number): Promise<Uint8Array> {
    return this.run(async () => {
      checkRead(this.layout, index, begin, length);
      const out = new Uint8Array(length);
      for (const s of this.layout.pieceSlices(index, begin, length)) {
        if (this.torrent.files[s.fileIndex]!.padding) continue; // zeros
        await this.handles.use(s.fileIndex, false, (h) => this.readFully(h, s.fileIndex, out, s.pieceOffset - begin, s.length, s.fileOffset));
      }
      return out;
    });
  }

  writePiece(index: number, data: Uint8Array): Promise<void> {
    return this.run(async () => {
      checkWrite(this.layout, index, data);
      for (const s of this.layout.pieceSlices(index)) {
        if (this.torrent.files[s.fileIndex]!.padding) continue;
        await this.handles.use(s.fileIndex, true, (h) => {
          this.dirty.add(s.fileIndex);
          return this.writeFully(h, s.fileIndex, data, s.pieceOffset, s.length, s.fileOffset);
        });
      }
    });
  }

  flush(): Promise<void> {
    return this.run(() => this.sync());
  }

  async stat(): Promise<(FileStat | undefined)[]> {
    const out: (FileStat | undefined)[] = [];
    for (let i = 0; i < this.paths.length; i += STAT_BATCH) {
      const batch = this.paths.slice(i, i + STAT_BATCH).map(async (p, j) => {
        const file = this.torrent.files[i + j]!;
        if (file.padding) return { size: file.length, mtimeMs: 0 };
        try {
          const st = await lstat(p);
          return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined;
        } catch {
          return undefined;
        }
      });
      out.push(...(await Promise.all(batch)));
    }
    return out;
  }

  /** Let operations in flight finish, flush, then close every file. A second close waits for the first. */
  close(): Promise<void> {
    this.closed = true;
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    try {
      await this.sync();
    } finally {
      await this.handles.closeAll();
    }
  }

  /** Create the empty files of the torrent (they never see a write). */
  async createEmptyFiles(): Promise<void> {
    for (let i = 0; i < this.paths.length; i++) {
      const f = this.torrent.files[i]!;
      if (f.length !== 0 || f.padding) continue;
      const path = this.paths[i]!;
      await this.folders.ensure(this.relative[i]!.slice(0, -1), true);
      try {
        await (await open(path, constants.O_WRONLY | constants.O_CREAT | NOFOLLOW, 0o666)).close();
      } catch (e) {
        throw fsError(e, 'create', path);
      }
    }
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError('closed', 'the store is closed');
    const p = op();
    this.inFlight.add(p);
    try {
      return await p;
    } finally {
      this.inFlight.delete(p);
    }
  }

  private async sync(): Promise<void> {
    const files = [...this.dirty];
    this.dirty.clear();
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      try {
        await this.handles.use(f, true, (h) => h.datasync());
      } catch (e) {
        for (const g of files.slice(i)) this.dirty.add(g); // still to flush next time
        throw fsError(e, 'flush', this.paths[f]!);
      }
    }
  }

  private async openFile(file: number, writable: boolean): Promise<FileHandle> {
    const path = this.paths[file]!;
    await this.folders.ensure(this.relative[file]!.slice(0, -1), writable);
    let h: FileHandle;
    try {
      h = await open(path, (writable ? constants.O_RDWR | constants.O_CREAT : constants.O_RDONLY) | NOFOLLOW, 0o666);
    } catch (e) {
      throw fsError(e, writable ? 'open' : 'read', path);
    }
    try {
      const st = await h.stat();
      if (!st.isFile()) throw new StorageError('io', `${path} is not a regular file`, path);
      const length = this.torrent.files[file]!.length;
      if (writable && this.preallocate === 'sparse' && !this.sized.has(file) && st.size < length) await h.truncate(length);
      if (writable) this.sized.add(file);
      return h;
    } catch (e) {
      await h.close().catch(() => undefined);
      throw fsError(e, 'allocate', path);
    }
  }

  private async readFully(h: FileHandle, file: number, out: Uint8Array, at: number, length: number, position: number): Promise<void> {
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await h.read(out, at + done, length - done, position + done));
      } catch (e) {
        throw fsError(e, 'read', this.paths[file]!);
      }
      if (n === 0) throw new StorageError('io', `${this.paths[file]!} is shorter than expected`, this.paths[file]!);
      done += n;
    }
  }

  private async writeFully(h: FileHandle, file: number, data: Uint8Array, at: number, length: number, position: number): Promise<void> {
    let done = 0;
    while (done < length) {
      try {
        done += (await h.write(data, at + done, length - done, position + done)).bytesWritten;
      } catch (e) {
        throw fsError(e, 'write', this.paths[file]!);
      }
    }
  }
}
