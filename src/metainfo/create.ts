import type { Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { binary, encode, textOrUndefined, type BEncodable } from '../bencode/index.js';
import { MetainfoError } from './errors.js';
import { hashPieces, type HashOptions } from './hash-pool.js';
import { DEFAULT_MAX_TORRENT, MAX_FILES, parseTorrent, type Metainfo } from './parse.js';
import { safeComponent } from './path.js';

/*
 * Creating a v1 .torrent from a file or a folder.
 *
 * The infohash depends only on the `info` dictionary, so two creators agree
 * on it when they agree on the name, the piece length, the private flag and,
 * for a folder, the order of the files. That order is the byte-wise order of
 * the file paths joined with `/` (what mktorrent does), so `peerkit create`
 * and `mktorrent` give the same infohash for the same input.
 */

export interface CreateOptions extends HashOptions {
  /** Tracker tiers (BEP 12). The first URL also goes in `announce`. */
  readonly trackers?: readonly (readonly string[])[];
  /** Web seed URLs (BEP 19 `url-list`). */
  readonly webSeeds?: readonly string[];
  readonly comment?: string;
  /** BEP 27 private flag: only the torrent's trackers may be used to find peers. */
  readonly private?: boolean;
  /** Bytes; a power of two from 16 KiB to 256 MiB. @default autoPieceLength(total) */
  readonly pieceLength?: number;
  /** The torrent's name. @default the base name of the path */
  readonly name?: string;
  /** `info.source`, which makes the infohash differ per community (mktorrent -s). */
  readonly source?: string;
  /** Leave out files and folders whose name starts with a dot. @default false */
  readonly skipHidden?: boolean;
  /** `created by`. @default undefined (left out) */
  readonly createdBy?: string;
  /** `creation date`, seconds since the epoch. @default undefined (left out) */
  readonly creationDate?: number;
  /** Absolute paths to leave out, such as the .torrent being written inside the folder. */
  readonly exclude?: readonly string[];
}

export interface CreatedTorrent {
  /** The .torrent file's bytes. */
  readonly torrent: Uint8Array;
  readonly metainfo: Metainfo;
}

export interface SourceFile {
  /** Where it is on disk. */
  readonly path: string;
  /** Its path inside the torrent (below the torrent's name). */
  readonly components: readonly string[];
  readonly length: number;
}

export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_PIECE_LENGTH = 256 * 1024 * 1024;
const AUTO_MAX_PIECE_LENGTH = 16 * 1024 * 1024;
const AUTO_MAX_PIECES = 2000;

/**
 * The piece length for `total` bytes: the smallest power of two from 16 KiB
 * to 16 MiB that needs at most 2,000 pieces, so a large input gets between
 * 1,000 and 2,000 pieces (few enough for a small .torrent, enough for
 * rarest first to have a choice).
 */
export function autoPieceLength(total: number): number {
  let len = MIN_PIECE_LENGTH;
  while (len < AUTO_MAX_PIECE_LENGTH && Math.ceil(total / len) > AUTO_MAX_PIECES) len *= 2;
  return len;
}

export function checkPieceLength(len: number): void {
  if (!Number.isSafeInteger(len) || len < MIN_PIECE_LENGTH || len > MAX_PIECE_LENGTH || (len & (len - 1)) !== 0) {
    throw new MetainfoError('bad-value', `piece length ${len} must be a power of two from 16 KiB to 256 MiB`, { field: 'piece length' });
  }
}

/** Compare two relative paths byte-wise as `a/b/c` strings (mktorrent's order). */
export function comparePaths(a: readonly string[], b: readonly string[]): number {
  return Buffer.compare(Buffer.from(a.join('/')), Buffer.from(b.join('/')));
}

/**
 * The files a torrent of `root` holds, in torrent order. A single file gives
 * one entry with no components; symbolic links are followed, loops are not.
 */
export async function collectFiles(
  root: string,
  options: { readonly skipHidden?: boolean; readonly exclude?: readonly string[] } = {},
): Promise<{ single: boolean; files: SourceFile[] }> {
  const top = await statOrThrow(root);
  if (top.isFile()) return { single: true, files: [{ path: root, components: [], length: top.size }] };
  if (!top.isDirectory()) throw new MetainfoError('bad-value', `${root} is neither a file nor a folder`);

  const exclude = new Set(options.exclude ?? []);
  const files: SourceFile[] = [];
  const visited = new Set<string>();
  const walk = async (dir: string, components: string[], id: string): Promise<void> => {
    if (visited.has(id)) return; // a symlink loop
    visited.add(id);
    let raw: Buffer[];
    try {
      raw = await readdir(dir, { encoding: 'buffer' });
    } catch (e) {
      throw ioError(e, dir);
    }
    for (const bytes of raw) {
      // A torrent's names are UTF-8 (BEP 3). A name that is not cannot be
      // written faithfully, and must not be dropped without a word either.
      const entry = textOrUndefined(bytes);
      if (entry === undefined) {
        throw new MetainfoError('bad-value', `${join(dir, binary(bytes))}: the file name is not valid UTF-8; rename it or leave it out`);
      }
      if (options.skipHidden === true && entry.startsWith('.')) continue;
      const full = join(dir, entry);
      if (exclude.has(full)) continue;
      const st = await statOrThrow(full).catch(async (e: unknown) => {
        // A dangling symlink is skipped rather than failing the whole folder.
        if (await isSymlink(full)) return undefined;
        throw e;
      });
      if (st === undefined) continue;
      const path = [...components, entry];
      if (st.isDirectory()) await walk(full, path, `${st.dev}:${st.ino}`);
      else if (st.isFile()) files.push({ path: full, components: path, length: st.size });
    }
  };
  await walk(root, [], `${top.dev}:${top.ino}`);
  files.sort((a, b) => comparePaths(a.components, b.components));
  return { single: false, files };
}

async function isSymlink(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Create a .torrent for the file or folder at `path`. */
export async function createTorrent(path: string, options: CreateOptions = {}): Promise<CreatedTorrent> {
  const root = resolve(path);
  const name = safeComponent(options.name ?? basename(root), 'name');
  // Everything that can be refused is refused before hashing, which can take minutes.
  const trackers = (options.trackers ?? []).map((tier) => tier.map((u) => checkUrl(u, 'tracker', ['http:', 'https:', 'udp:', 'ws:', 'wss:']))).filter((t) => t.length > 0);
  const webSeeds = (options.webSeeds ?? []).map((u) => checkUrl(u, 'web seed', ['http:', 'https:', 'ftp:']));
  if (options.pieceLength !== undefined) checkPieceLength(options.pieceLength);
  const { single, files } = await collectFiles(root, {
    ...(options.skipHidden !== undefined && { skipHidden: options.skipHidden }),
    ...(options.exclude !== undefined && { exclude: options.exclude.map((p) => resolve(p)) }),
  });
  if (files.length > MAX_FILES) throw new MetainfoError('bad-value', `${files.length} files: a torrent holds at most ${MAX_FILES}`);
  const paths = files.map((f) => f.components.map((c) => safeComponent(c, f.path)));
  const total = files.reduce((n, f) => n + f.length, 0);
  if (total === 0) throw new MetainfoError('bad-value', `nothing to share: ${path} holds no data`);
  const pieceLength = options.pieceLength ?? autoPieceLength(total);
  // Say so now, not after an hour of hashing, if the piece hashes alone would
  // make a .torrent larger than clients (peerkit included) accept.
  const pieceCount = Math.ceil(total / pieceLength);
  if (pieceCount * 20 > DEFAULT_MAX_TORRENT - 1024 * 1024) {
    let enough = pieceLength;
    while (Math.ceil(total / enough) * 20 > DEFAULT_MAX_TORRENT - 1024 * 1024) enough *= 2;
    throw new MetainfoError('bad-value', `${pieceCount} pieces would make the .torrent too large: use a piece length of at least ${enough}`, {
      field: 'piece length',
    });
  }

  const hashOptions: HashOptions = {
    ...(options.workers !== undefined && { workers: options.workers }),
    ...(options.onProgress !== undefined && { onProgress: options.onProgress }),
    ...(options.signal !== undefined && { signal: options.signal }),
  };
  const pieces = await hashPieces(files, pieceLength, hashOptions);

  const info: Record<string, BEncodable | undefined> = {
    name,
    'piece length': pieceLength,
    pieces,
    private: options.private === true ? 1 : undefined,
    source: options.source,
  };
  if (single) info['length'] = total;
  else info['files'] = files.map((f, i) => ({ length: f.length, path: paths[i]! }));

  const flat = trackers.flat();
  const torrent = encode({
    announce: flat[0],
    // BEP 12: a single tracker needs no announce-list (mktorrent writes none either).
    'announce-list': flat.length > 1 ? trackers : undefined,
    comment: options.comment,
    'created by': options.createdBy,
    'creation date': options.creationDate,
    info,
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
  });
  // Parsing our own output checks it, and gives the caller the Metainfo.
  return { torrent, metainfo: parseTorrent(torrent, { maxSize: Infinity }) };
}

function checkUrl(url: string, what: string, schemes: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MetainfoError('bad-value', `${what} ${JSON.stringify(url)} is not a URL`);
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new MetainfoError('bad-value', `${what} ${JSON.stringify(url)} must use ${schemes.map((s) => s.slice(0, -1)).join(', ')}`);
  }
  return url;
}

async function statOrThrow(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (e) {
    throw ioError(e, path);
  }
}

function ioError(e: unknown, path: string): MetainfoError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOENT' ? 'no such file or folder' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message);
  return new MetainfoError('io', `${path}: ${why}`, { cause: e });
}
